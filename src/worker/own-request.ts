// A request a worker runs (own-http.ts): its exchange with the client (front/exchange.ts) and what
// the worker keeps about it, one object of one shape per request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Exchange } from '../front/exchange.js';
import type { RequestAbort } from './request-abort.js';

export class OwnRequest implements Exchange {
  readonly method: string;
  readonly url: string;
  deadline = 0;
  headSent = false;
  bytesOut = 0;
  status = 0;
  done = false;
  note: string | undefined = undefined;
  /** Its place in `live` (slot-list.ts). */
  slot = -1;
  /** Its deadline changed after it began (earliest-deadline.ts). */
  deadlineMoved = false;
  /** Its entry in the request table (-1: not listed, the table was full). */
  entry = -1;

  constructor(
    readonly id: number,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly body: Uint8Array | null,
    readonly workerId: number,
    readonly receivedAt: number,
    /** The adapters' abort state; null for a Node app on node:http's own req/res (nothing to tell). */
    readonly ctx: RequestAbort | null,
  ) {
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '/';
  }
}
