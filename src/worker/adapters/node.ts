// Runs a Node-style `(req, res)` application (plain handler, Express, Koa's callback, Fastify's
// router) without a socket. We build a real http.IncomingMessage and http.ServerResponse over a
// fake socket and hook the few ServerResponse methods that would touch the socket:
//   - `_storeHeader` (where Node serialises the status line and headers, whichever way the app
//     got there: writeHead, implicit head on write/end, flushHeaders) → sink.head()
//   - `write` / `end` → sink.chunk() / sink.end(), synchronously, so streamed writes (SSE) reach
//     the caller one by one
//   - `flushHeaders` → only commits the head
// The hooks are own properties of the instance, so they survive Express replacing the object's
// prototype with its own (which inherits from http.ServerResponse.prototype).
//
// This is what light-my-request does too, minus its per-request Express prototype rewiring, its
// extra Readable for streamed payloads and its URL re-parsing; it is faster (see
// bench/adapters-bench.mjs) and gives the app the real client address and port.

import { EventEmitter } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import type { AppHandler, RequestData } from '../app-types.js';
import { guardedHandler, ResponseGuard } from './guard.js';

/** The application's entry point: `(req, res) => void | Promise<void>`. */
export type NodeDispatch = (req: IncomingMessage, res: ServerResponse) => unknown;

// IncomingMessage computes `headers`/`headersDistinct` lazily from `rawHeaders`, but only up to
// an internal count that Node's parser sets. Find that symbol once; without it we fill `headers`
// eagerly (headersDistinct then stays empty).
const kHeadersCount: symbol | undefined = Object.getOwnPropertySymbols(new IncomingMessage(null as never)).find(
  (s) => s.description === 'kHeadersCount',
);

const EMPTY = Buffer.alloc(0);

/**
 * Stands in for the net.Socket of `req.socket` / `res.socket`. Carries the real addresses from
 * the master; the timeouts and options an app may set on a socket are accepted and ignored (the
 * master owns the connection and its timeouts). `destroy()` by the app means "drop this
 * connection": the handler rejects and the caller closes it.
 */
class FakeSocket extends EventEmitter {
  remoteAddress: string;
  remotePort: number;
  remoteFamily: string;
  localAddress: string;
  localPort: number;
  encrypted?: true;
  // on-finished (Express, body-parser, Koa) treats a request on an unreadable socket as finished
  // and would skip reading its body; IncomingMessage only calls our no-op resume() because of it.
  readable = true;
  writable = true;
  destroyed = false;
  connecting = false;
  pending = false;
  readyState = 'open';
  writableLength = 0;
  writableHighWaterMark = 16384;
  readableHighWaterMark = 16384;
  bytesRead = 0;
  bytesWritten = 0;
  timeout: number | undefined = undefined;
  /** Set by the adapter: called when the app destroys the socket (or req/res). */
  onDestroy: ((err?: Error) => void) | null = null;

  constructor(rd: RequestData) {
    super();
    this.remoteAddress = rd.remoteAddress;
    this.remotePort = rd.remotePort;
    this.remoteFamily = rd.remoteAddress.includes(':') ? 'IPv6' : 'IPv4';
    this.localAddress = rd.localAddress;
    this.localPort = rd.localPort;
    if (rd.scheme === 'https') this.encrypted = true;
  }

  address(): { address: string; port: number; family: string } {
    return { address: this.localAddress, port: this.localPort, family: this.localAddress.includes(':') ? 'IPv6' : 'IPv4' };
  }
  setTimeout(ms: number, cb?: () => void): this {
    this.timeout = ms;
    if (cb) this.once('timeout', cb);
    return this;
  }
  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
  setEncoding(): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }
  cork(): void {}
  uncork(): void {}
  pause(): this { return this; }
  resume(): this { return this; }
  write(_data: unknown, _enc?: unknown, cb?: unknown): boolean {
    if (typeof _enc === 'function') process.nextTick(_enc as () => void);
    else if (typeof cb === 'function') process.nextTick(cb as () => void);
    return true;
  }
  end(): this { return this; }
  destroySoon(): void { this.destroy(); }
  destroy(err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.readable = false;
    this.writable = false;
    this.readyState = 'closed';
    const hook = this.onDestroy;
    this.onDestroy = null;
    if (hook) hook(err);
    process.nextTick(() => this.emit('close', err !== undefined));
    return this;
  }
}

// Fields of ServerResponse/OutgoingMessage that @types/node does not declare.
interface ResInternals {
  _header: string | null;
  _hasBody: boolean;
  _contentLength: number | null;
  _closed: boolean;
  finished: boolean;
  _implicitHeader(): void;
  _storeHeader(firstLine: string, headers: unknown): void;
}
type Res = ServerResponse & ResInternals;
type Req = IncomingMessage & { complete: boolean; _consuming: boolean; _dump(): void; _readableState: { resumeScheduled: boolean } };

const proto = ServerResponse.prototype as unknown as ResInternals;
const protoStoreHeader = proto._storeHeader;

type Encoding = BufferEncoding | null | undefined;
type Callback = ((err?: Error | null) => void) | undefined;

function toBytes(chunk: unknown, encoding: Encoding): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding ?? 'utf8');
  if (chunk instanceof Uint8Array) return chunk;
  const err = new TypeError(
    `The "chunk" argument must be of type string or an instance of Buffer or Uint8Array. Received ${typeof chunk}`,
  ) as TypeError & { code: string };
  err.code = 'ERR_INVALID_ARG_TYPE';
  throw err;
}

function codedError(message: string, code: string): Error {
  const err = new Error(message) as Error & { code: string };
  err.code = code;
  return err;
}

/**
 * Turns Node's serialised head (`HTTP/1.1 200 OK\r\nName: value\r\n…\r\n\r\n`) into pairs, as they
 * are: the front drops the framing headers (cleanHeaders, src/front/exchange.ts).
 */
function parseHead(head: string): [string, string][] {
  const out: [string, string][] = [];
  let pos = head.indexOf('\r\n') + 2;
  const stop = head.length - 2; // the final empty line
  while (pos < stop) {
    let eol = head.indexOf('\r\n', pos);
    if (eol < 0) eol = head.length;
    const colon = head.indexOf(':', pos);
    if (colon > pos && colon < eol) {
      const value = head.slice(head.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1, eol);
      out.push([head.slice(pos, colon), value]);
    }
    pos = eol + 2;
  }
  return out;
}

/** Builds an AppHandler around a Node `(req, res)` dispatch function. */
export function makeNodeHandler(dispatch: NodeDispatch, thisArg?: unknown): AppHandler {
  return guardedHandler((rd, _ctx, g) => {
    let req: Req;
    let res: Res;
    try {
      const sock = new FakeSocket(rd);
      req = buildRequest(rd, sock);
      res = new ServerResponse(req) as unknown as Res;
      wireResponse(res, req, sock, g);
    } catch (err) {
      g.fail(err);
      return;
    }
    try {
      const ret = thisArg === undefined ? dispatch(req, res) : dispatch.call(thisArg, req, res);
      if (ret !== null && typeof ret === 'object' && typeof (ret as Promise<unknown>).then === 'function') {
        (ret as Promise<unknown>).then(undefined, (err: unknown) => g.fail(err));
      }
    } catch (err) {
      g.fail(err);
    }
  });
}

function buildRequest(rd: RequestData, sock: FakeSocket): Req {
  const req = new IncomingMessage(sock as never) as Req;
  req.method = rd.method;
  req.url = rd.url;
  const v = rd.httpVersion;
  req.httpVersion = v;
  req.httpVersionMajor = v.charCodeAt(0) - 48;
  req.httpVersionMinor = v.length > 2 ? v.charCodeAt(2) - 48 : 0;
  const pairs = rd.headers;
  const n = pairs.length;
  const raw: string[] = new Array(n * 2);
  for (let i = 0; i < n; i++) {
    const p = pairs[i]!;
    raw[2 * i] = p[0];
    raw[2 * i + 1] = p[1];
  }
  req.rawHeaders = raw;
  if (kHeadersCount !== undefined) {
    (req as unknown as Record<symbol, number>)[kHeadersCount] = raw.length;
  } else {
    const dst: Record<string, unknown> = {};
    const add = (req as unknown as { _addHeaderLine(f: string, v: string, d: object): void })._addHeaderLine;
    for (let i = 0; i < raw.length; i += 2) add.call(req, raw[i]!, raw[i + 1]!, dst);
    req.headers = dst as IncomingMessage['headers'];
  }
  const body = rd.body;
  if (body !== null && body.byteLength > 0) {
    req.push(Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  }
  req.push(null);
  req.complete = true;
  return req;
}

function wireResponse(res: Res, req: Req, sock: FakeSocket, g: ResponseGuard): void {
  // The master decides about keep-alive; make Node never add its own `Connection: close`, so a
  // `close` in the head always comes from the app.
  res.shouldKeepAlive = true;
  (res as unknown as { socket: unknown }).socket = sock;

  res._storeHeader = function storeHeader(this: Res, firstLine: string, headers: unknown): void {
    protoStoreHeader.call(this, firstLine, headers);
    g.head(this.statusCode, parseHead(this._header!));
  };

  res.flushHeaders = function flushHeaders(this: Res): void {
    if (!this._header) this._implicitHeader();
  };

  res.write = function write(this: Res, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (chunk === null) throw Object.assign(new TypeError('May not write null values to stream'), { code: 'ERR_STREAM_NULL_VALUES' });
    const data = toBytes(chunk, encoding as Encoding);
    if (this.finished) {
      // Node emits 'error' here, which kills the worker when nobody listens; report to the callback only.
      if (typeof cb === 'function') process.nextTick(cb as Callback & {}, codedError('write after end', 'ERR_STREAM_WRITE_AFTER_END'));
      return false;
    }
    if (this.destroyed) {
      if (typeof cb === 'function') process.nextTick(cb as Callback & {}, codedError('Cannot call write after a stream was destroyed', 'ERR_STREAM_DESTROYED'));
      return false;
    }
    if (!this._header) this._implicitHeader();
    if (this._hasBody) g.chunk(data);
    if (typeof cb === 'function') process.nextTick(cb as Callback & {});
    return roomFor(this);
  } as unknown as Res['write'];

  // Backpressure, as a socket's: write() returns false while the sink has no room, 'drain' follows.
  let draining = false;
  const roomFor = (r: Res): boolean => {
    if (draining) return false;
    const drained = g.drained();
    if (drained === undefined) return true;
    draining = true;
    void drained.then(() => {
      draining = false;
      if (!r.destroyed) r.emit('drain');
    });
    return false;
  };

  res.end = function end(this: Res, chunk?: unknown, encoding?: unknown, cb?: unknown): Res {
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
      encoding = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (this.finished) {
      if (typeof cb === 'function') process.nextTick(cb as Callback & {});
      return this;
    }
    let data: Uint8Array = EMPTY;
    if (chunk !== undefined && chunk !== null) data = toBytes(chunk, encoding as Encoding);
    if (!this._header) {
      this._contentLength = data.byteLength;
      this._implicitHeader();
    }
    this.finished = true;
    if (typeof cb === 'function') this.once('finish', cb as () => void);
    if (!this.destroyed) {
      if (this._hasBody) g.chunk(data);
      g.end();
    }
    this.emit('prefinish');
    process.nextTick(finishNT, this, req);
    return this;
  } as unknown as Res['end'];

  const teardown = (err: unknown) => {
    // Tell the app the way Node's server does when the client goes away: req is destroyed
    // ('aborted' if its body was not fully read, then 'close'), res gets 'close'.
    sock.onDestroy = null;
    if (!sock.destroyed) {
      sock.destroyed = true;
      sock.readable = false;
      sock.writable = false;
      sock.readyState = 'closed';
      process.nextTick(() => sock.emit('close', true));
    }
    if (!req.destroyed) req.destroy(err as Error);
    if (!res._closed) {
      res.destroyed = true;
      res._closed = true;
      process.nextTick(() => res.emit('close'));
    }
  };
  g.onAbort = (reason) => teardown(econnreset(reason));
  sock.onDestroy = (err) => {
    // the app destroyed the socket, req or res
    if (g.open) g.fail(err ?? codedError('the application destroyed the connection before the response was complete', 'ERR_APP_DESTROYED'));
    teardown(err);
  };
}

function econnreset(cause: unknown): Error {
  const err = new Error('aborted', { cause }) as Error & { code: string };
  err.code = 'ECONNRESET';
  return err;
}

function finishNT(res: Res, req: Req): void {
  res.emit('finish');
  // As Node's server does once a response is finished: drain an unread body, then 'close'.
  // (_dump is IncomingMessage's; guard in case something re-parented Express's request prototype,
  // as light-my-request does when it is used in the same thread.)
  if (!req._consuming && !req._readableState.resumeScheduled && typeof req._dump === 'function') req._dump();
  process.nextTick(() => {
    if (!res._closed) {
      res.destroyed = true;
      res._closed = true;
      res.emit('close');
    }
  });
}
