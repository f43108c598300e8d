// An app's response, as the parts the adapters' sink produces (FULL, or HEAD, CHUNK…, END),
// written to the client, and the answer when the app failed.
import type { Log } from '../log/logger.js';
import { answer, writeFull, writeHead, type Exchange, type FlatHeaders, type ResponseOptions } from './exchange.js';

export const FULL = 0;
export const HEAD = 1;
export const CHUNK = 2;
export const END = 3;

/**
 * One part of a response: [FULL, status, headers, body | null] a complete response (a string body
 * is written as UTF-8), or a streamed one as [HEAD, status, headers], [CHUNK, bytes]…, [END].
 */
export type ResponsePart =
  | [typeof FULL, number, FlatHeaders, Uint8Array | string | null]
  | [typeof HEAD, number, FlatHeaders]
  | [typeof CHUNK, Uint8Array]
  | [typeof END];

/** Writes one response part to `ex`; true when the response is complete (FULL, END). */
export function writeResponsePart(ex: Exchange, m: ResponsePart, opts: ResponseOptions): boolean {
  switch (m[0]) {
    case FULL:
      if (!ex.done) writeFull(ex, m[1], m[2], m[3], opts);
      return true;
    case HEAD:
      if (!ex.done) writeHead(ex, m[1], m[2], opts);
      return false;
    case CHUNK:
      if (!ex.done && ex.headSent) {
        ex.bytesOut += m[1].byteLength;
        ex.res.write(Buffer.from(m[1].buffer, m[1].byteOffset, m[1].byteLength));
      }
      return false;
    case END:
      if (!ex.done && ex.headSent) { ex.done = true; ex.res.end(); }
      return true;
  }
}

/**
 * The app's promise rejected for `ex`. After harakiri's graceful stage aborted it, that is the app
 * settling: 504 stands. Otherwise the app failed: the stack is logged and the client gets 500.
 * Returns true when the request counts as an exception.
 */
export function answerAppFailure(ex: Exchange, stack: string, log: Log, worker: number): boolean {
  if (ex.note === 'harakiri-graceful') {
    log.warn({ event: 'HARAKIRI_SETTLED', worker, method: ex.method, path: ex.url }, 'harakiri: the request was aborted and the worker settled; no termination needed');
    answer(ex, 504, 'the request ran past its harakiri limit and was aborted');
    return false;
  }
  log.error({ event: 'APP_ERROR', worker, method: ex.method, path: ex.url, err: { message: firstLine(stack), stack } }, 'unhandled error in the app');
  answer(ex, 500, 'the application failed while handling this request (see the server log)');
  return true;
}

export const firstLine = (s: string): string => s.split('\n', 1)[0] ?? s;
