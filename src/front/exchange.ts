// One HTTP request, from the moment its body is in until its response is written. It lives in the
// worker that accepted the connection.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Header list as node:http takes it in writeHead: [name, value, name, value, …]. */
export type FlatHeaders = string[];

export interface Exchange {
  readonly id: number;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly url: string;
  readonly body: Uint8Array | null;
  /** performance.now() when the request was complete and handed to the app (or refused). */
  readonly receivedAt: number;
  /** Absolute harakiri deadline (performance.now() ms); 0 = none. */
  deadline: number;
  /** The worker serving it (the request log's `worker`). */
  readonly workerId: number;
  headSent: boolean;
  bytesOut: number;
  status: number;
  /** The client went away, or Spindle answered it instead of the app (error, harakiri). */
  done: boolean;
  /** Why Spindle answered it, for the log (harakiri, worker died, …). */
  note?: string;
}

/** An exchange for a request whose body is in (`body`), about to be handed to the app of `workerId`. */
export function newExchange(id: number, req: IncomingMessage, res: ServerResponse, body: Uint8Array | null, workerId: number, receivedAt = performance.now()): Exchange {
  return {
    id, req, res, method: req.method ?? 'GET', url: req.url ?? '/', body,
    receivedAt, deadline: 0, workerId,
    headSent: false, bytesOut: 0, status: 0, done: false,
  };
}

/** setHarakiri(): the request's deadline becomes `seconds` after it began, if that is sooner. */
export function lowerDeadline(ex: Exchange, seconds: number): void {
  const deadline = ex.receivedAt + seconds * 1000;
  ex.deadline = ex.deadline > 0 ? Math.min(ex.deadline, deadline) : deadline;
}

/** 413 for a body over limit-post; the connection closes, since the rest of the body is unread. */
export function refuseTooLarge(ex: Exchange, size: number, limit: number): void {
  ex.res.shouldKeepAlive = false;
  answer(ex, 413, `the request body (${size} bytes or more) is larger than limit-post (${limit} bytes)`, ['connection', 'close']);
  ex.res.once('finish', () => ex.req.socket.destroySoon());
}

/** Hop-by-hop and framing headers the app may not set: the front frames the body itself. */
const FRAMING = new Set(['transfer-encoding', 'connection', 'keep-alive', 'content-length']);
const CLOSE = /\bclose\b/i;

/**
 * Drops framing headers; keeps content-length only when `keepLength` (HEAD, streamed bodies), and
 * Connection when it says `close` (the app wants the connection ended: node:http then closes it
 * after this response). This is the one place adapters' headers are cleaned.
 */
export function cleanHeaders(flat: FlatHeaders, keepLength: boolean): FlatHeaders {
  let clean: FlatHeaders | null = null;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const drop = FRAMING.has(name) && !(keepLength && name === 'content-length') &&
      !(name === 'connection' && CLOSE.test(flat[i + 1]!));
    if (drop && !clean) clean = flat.slice(0, i);
    else if (!drop && clean) clean.push(flat[i]!, flat[i + 1]!);
  }
  return clean ?? flat;
}

/** Does a cleaned header list already end the connection (the app's `Connection: close`)? */
function asksToClose(flat: FlatHeaders): boolean {
  for (let i = 0; i < flat.length; i += 2) if (flat[i]!.toLowerCase() === 'connection') return true;
  return false;
}

/**
 * The server answers in the app's place (harakiri, a failure, a stalled body) while a Node app may
 * still hold the response: a write it makes afterwards is emitted as an 'error' on it, which must
 * not become an uncaught exception that kills the worker. (Only here, not on every response: an
 * 'error' listener per request is a measurable share of a small one.)
 */
export function ignoreLateWrites(res: ServerResponse): void {
  res.on('error', ignoreError);
}

function ignoreError(): void {}

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
  ignoreLateWrites(res);
  ex.bytesOut = body.length;
  // What the app left on its response (a Node app: headers, a Trailer, a statusMessage that may
  // be invalid) is not part of this answer and could make writeHead throw again.
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  try {
    res.writeHead(status, STATUS_CODES[status] ?? 'Error', [
      'content-type', 'text/plain; charset=utf-8',
      'content-length', String(body.length),
      ...extra,
    ]);
    res.end(body);
  } catch {
    res.destroy(); // never expected; at worst this one connection is lost, not the thread
  }
}

const NO_BODY_STATUS = new Set([204, 304]);

export interface ResponseOptions {
  /** True once the server is shutting down: responses then close their connection. */
  closing: () => boolean;
  /** The app's status or headers were rejected by node:http (logged; the client gets a 500). */
  onInvalid: (ex: Exchange, err: unknown) => void;
}

/**
 * A complete response from a worker: head and body in one go, framed with Content-Length. A
 * string body is written as UTF-8 (node:http then sends head and body as one string).
 */
export function writeFull(ex: Exchange, status: number, headers: FlatHeaders, body: Uint8Array | string | null, opts: ResponseOptions): void {
  const isHead = ex.method === 'HEAD';
  const flat = cleanHeaders(headers, isHead);
  const size = body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (!isHead && !NO_BODY_STATUS.has(status)) flat.push('content-length', String(size));
  if (!startResponse(ex, status, flat, opts)) return;
  ex.done = true;
  ex.bytesOut = size;
  if (body === null || size === 0 || isHead) ex.res.end();
  else if (typeof body === 'string') ex.res.end(body);
  else ex.res.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

/** The head of a streamed response; its chunks follow. */
export function writeHead(ex: Exchange, status: number, headers: FlatHeaders, opts: ResponseOptions): void {
  if (!startResponse(ex, status, cleanHeaders(headers, true), opts)) return;
  ex.res.flushHeaders(); // a streamed response (SSE) shows its head before the first event
}

/** Writes the status line and headers; false (and a 500) when the app's head is invalid. */
function startResponse(ex: Exchange, status: number, flat: FlatHeaders, opts: ResponseOptions): boolean {
  if (opts.closing() && !asksToClose(flat)) flat.push('connection', 'close');
  try {
    ex.res.writeHead(status, flat);
  } catch (err) {
    opts.onInvalid(ex, err);
    answer(ex, 500, 'the application returned an invalid response (see the server log)');
    return false;
  }
  ex.headSent = true;
  ex.status = status;
  return true;
}
