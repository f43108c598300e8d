// One HTTP request in the master, from the moment its body is in until its response is written:
// the master keeps the client connection, so whatever happens to a worker, it can still answer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { FlatHeaders } from '../worker/protocol.js';

export interface Exchange {
  readonly id: number;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly url: string;
  readonly body: Uint8Array | null;
  /** performance.now() when the request was complete and ready to dispatch. */
  readonly receivedAt: number;
  /** performance.now() when handed to a worker; 0 while in the backlog. */
  dispatchedAt: number;
  /** Absolute harakiri deadline (performance.now() ms); 0 = none. */
  deadline: number;
  workerId: number;
  headSent: boolean;
  bytesOut: number;
  status: number;
  /** The client went away, or the exchange was answered by the master (error, harakiri). */
  done: boolean;
  /** Why the master answered it, for the log (harakiri, worker died, …). */
  note?: string;
}

/** Hop-by-hop and framing headers the app may not set: the front frames the body itself. */
const FRAMING = new Set(['transfer-encoding', 'connection', 'keep-alive', 'content-length']);

/** Drops framing headers; keeps content-length only when `keepLength` (HEAD, streamed bodies). */
export function cleanHeaders(flat: FlatHeaders, keepLength: boolean): FlatHeaders {
  let clean: FlatHeaders | null = null;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const drop = FRAMING.has(name) && !(keepLength && name === 'content-length');
    if (drop && !clean) clean = flat.slice(0, i);
    else if (!drop && clean) clean.push(flat[i]!, flat[i + 1]!);
  }
  return clean ?? flat;
}

/** Answers with a short text body, unless headers already went out (then the socket is cut). */
export function answer(ex: Exchange, status: number, message: string, extra: FlatHeaders = []): void {
  if (ex.done) return;
  ex.done = true;
  ex.status = status;
  const { res } = ex;
  if (ex.headSent || res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(`${status} ${STATUS_CODES[status] ?? ''}: ${message}\n`);
  ex.headSent = true;
  ex.bytesOut = body.length;
  res.writeHead(status, [
    'content-type', 'text/plain; charset=utf-8',
    'content-length', String(body.length),
    ...extra,
  ]);
  res.end(body);
}
