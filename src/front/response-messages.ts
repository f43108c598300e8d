// A worker's response, as the messages its PortSink produces (FULL, or HEAD, CHUNK…, END), written
// to the client, and the answer when the app failed. The master does this for the requests it
// dispatched; a worker that accepts HTTP itself (accept = workers) does it for its own.
import type { Log } from '../log/logger.js';
import { CHUNK, END, FULL, HEAD, type WorkerMessage } from '../worker/protocol.js';
import { answer, writeFull, writeHead, type Exchange, type ResponseOptions } from './exchange.js';

/** Writes one response message to `ex`; true when the response is complete (FULL, END). */
export function writeResponseMessage(ex: Exchange, m: WorkerMessage, opts: ResponseOptions): boolean {
  switch (m[0]) {
    case FULL:
      if (!ex.done) writeFull(ex, m[2], m[3], m[4], opts);
      return true;
    case HEAD:
      if (!ex.done) writeHead(ex, m[2], m[3], opts);
      return false;
    case CHUNK:
      if (!ex.done && ex.headSent) {
        ex.bytesOut += m[2].byteLength;
        ex.res.write(Buffer.from(m[2].buffer, m[2].byteOffset, m[2].byteLength));
      }
      return false;
    case END:
      if (!ex.done && ex.headSent) { ex.done = true; ex.res.end(); }
      return true;
    default:
      return false;
  }
}

/**
 * The app's promise rejected for `ex`. After harakiri's graceful stage aborted it, that is the app
 * settling: 504 stands. Otherwise the app failed: the stack is logged and the client gets 500.
 * Returns true when the request counts as an exception.
 */
export function answerAppFailure(ex: Exchange, stack: string, log: Log, worker: number): boolean {
  if (ex.note === 'harakiri-graceful') {
    log.warn({ worker, method: ex.method, path: ex.url }, 'harakiri: the request was aborted and the worker settled; no termination needed');
    answer(ex, 504, 'the request ran past its harakiri limit and was aborted');
    return false;
  }
  log.error({ worker, method: ex.method, path: ex.url, err: { message: firstLine(stack), stack } }, 'unhandled error in the app');
  answer(ex, 500, 'the application failed while handling this request (see the server log)');
  return true;
}

/** What a thrown value says, for the log: its stack when it is an Error. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.stack ?? err.message : String(err);
}

export const firstLine = (s: string): string => s.split('\n', 1)[0] ?? s;
