// Runs a Web-standard fetch handler: `(request: Request, ctx) => Response | Promise<Response>`.
//
// Request: an undici `Request` (absolute URL from scheme + Host + target, the raw header
// pairs, `signal` = ctx.signal, a body only for methods other than GET/HEAD). For plain requests
// it is a LazyRequest (./lazy-request.ts), which behaves as one but creates the real Request -
// and the signal - only when the app uses more than method, url and headers.
// Response: status and headers (every Set-Cookie separately, via getSetCookie()), then the body:
//   - fast path: a body made from a string / ArrayBuffer / typed array (new Response('hi'),
//     Response.json(), Hono's c.text()/c.json()) is sent whole from its source (the front frames
//     it with its Content-Length), and no web stream is read. In a worker the global
//     Response is a LightResponse (./light-response.ts), which keeps that source and never builds
//     the stream (lightSource); for an undici Response (fetch(), or outside a worker) the source
//     is read from undici's internal state on Node 20 (storedSource);
//   - otherwise the ReadableStream is read and every chunk goes to sink.chunk() as it arrives,
//     so SSE flows incrementally. On abort the stream is cancelled (the app's cancel() runs).
// HEAD, 204, 304 and 1xx responses send no body chunks (the body, if any, is cancelled).
// Framing headers (Transfer-Encoding, Keep-Alive, Connection unless it says `close`) are the
// front's to drop: it frames the response (cleanHeaders, src/front/exchange.ts).

import type { AppHandler, RequestContext, RequestData, ResponseHeaders } from '../app-types.js';
import { describeValue, guardedHandler, ResponseGuard } from './guard.js';
import { LazyRequest, lazyRequestSupported } from './lazy-request.js';
import { requestHref } from './request-url.js';
import { lightHeaders, lightSource, realResponse, warmUpLightResponse, type LightSource } from './light-response.js';
import { SpindleTypeError } from '../../errors.js';
import { HTTP_TOKEN } from '../../front/http-token.js';

export type FetchFunction = (request: Request, env: FetchContext, ctx: FetchContext) => unknown;

/**
 * What a fetch handler gets as its second argument (the `{ fetch(request, ctx) }` convention)
 * and also as its third (Hono's / Cloudflare's `executionCtx`, which needs `waitUntil` and
 * `passThroughOnException`). So in Hono both `c.env.remoteAddress` and `c.executionCtx.waitUntil()`
 * work.
 */
export interface FetchContext {
  /** Keep work going after the response; loadApp's close() waits for it; a rejection is reported, not fatal. */
  waitUntil(promise: unknown): void;
  /** Cloudflare compatibility; a no-op (an exception always gives a 500 here). */
  passThroughOnException(): void;
  /** Same signal as request.signal: aborted on client disconnect or harakiri's graceful stage. */
  signal: AbortSignal;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  scheme: 'http' | 'https';
  workerId: number;
  requestId: number;
}

/** Tracks `waitUntil` promises so close() can wait for them. */
export class BackgroundTasks {
  private readonly pending = new Set<Promise<unknown>>();
  constructor(private readonly onError: (err: unknown) => void) {}
  track(value: unknown): void {
    const p = Promise.resolve(value).then(
      () => { this.pending.delete(p); },
      (err: unknown) => {
        this.pending.delete(p);
        this.onError(err);
      },
    );
    this.pending.add(p);
  }
  get size(): number {
    return this.pending.size;
  }
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

// undici keeps the value a body was made from in `response[Symbol(state)].body.source`. Probe
// it once with a known value; if this Node's undici differs, the fast path just stays off. The
// probe runs at the first response, not at import: touching Response loads undici (about 20 ms
// on Node 20), which a worker's start-up should not wait for.
let kState: symbol | undefined | null = null;

function stateSymbol(): symbol | undefined {
  if (kState !== null) return kState;
  kState = undefined;
  try {
    const probe = new Response('spindle-probe');
    for (const s of Object.getOwnPropertySymbols(probe)) {
      const v = (probe as unknown as Record<symbol, { body?: { source?: unknown } }>)[s];
      if (v && typeof v === 'object' && v.body && v.body.source === 'spindle-probe') kState = s;
    }
  } catch {
    /* no fast path */
  }
  return kState;
}

/** Loads undici and does the probes above now, so that the first request does not wait for them. */
export function warmUpFetch(): void {
  warmUpLightResponse();
  stateSymbol();
  lazyRequestSupported();
}

function storedSource(response: Response, body: ReadableStream): string | Uint8Array | undefined {
  const key = stateSymbol();
  if (key === undefined || body.locked || response.bodyUsed) return undefined;
  const state = (response as unknown as Record<symbol, { body?: { source?: unknown; stream?: unknown } } | undefined>)[key];
  const b = state?.body;
  if (!b || b.stream !== body) return undefined;
  const src = b.source;
  if (typeof src === 'string' || src instanceof Uint8Array) return src;
  return undefined;
}

const textEncoder = new TextEncoder();

function toChunk(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return textEncoder.encode(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new SpindleTypeError('APP_RESPONSE', `the response body stream produced ${describeValue(value)}; expected Uint8Array chunks`);
}

function findHost(headers: [string, string][]): string | undefined {
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i]![0];
    if (name.length === 4 && name.toLowerCase() === 'host') return headers[i]![1];
  }
  return undefined;
}

function localAuthority(rd: RequestData): string {
  const a = rd.localAddress.includes(':') ? `[${rd.localAddress}]` : rd.localAddress || 'localhost';
  return rd.localPort ? `${a}:${rd.localPort}` : a;
}

export function buildRequest(rd: RequestData, signal: AbortSignal): Request {
  const method = rd.method;
  const init: RequestInit & { duplex?: 'half' } = { method, headers: rd.headers, signal };
  if (rd.body !== null && method !== 'GET' && method !== 'HEAD') init.body = rd.body;
  const target = rd.url;
  if (target.charCodeAt(0) !== 47 /* '/' */) {
    // absolute-form ('http://host/path', sent to proxies) or asterisk-form ('OPTIONS *')
    if (/^https?:\/\//i.test(target)) return new Request(target, init);
  }
  const path = target.charCodeAt(0) === 47 ? target : '/' + target;
  const host = findHost(rd.headers);
  if (host) {
    try {
      return new Request(`${rd.scheme}://${host}${path}`, init);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      // a Host header that is not a valid authority: fall back to the local address
    }
  }
  return new Request(`${rd.scheme}://${localAuthority(rd)}${path}`, init);
}

const LAZY_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
const BAD_VALUE = /[\0\r\n]|[^\0-\xff]/;

/**
 * The Request a fetch app gets: a LazyRequest when the request is plain (a common method, an
 * origin-form target, a Host that makes a valid URL without credentials, headers Headers accepts),
 * so it behaves exactly like the real one would; anything else takes buildRequest's path, which
 * throws or falls back exactly as before.
 */
export function makeRequest(rd: RequestData, ctx: RequestContext): Request {
  if (lazyRequestSupported()) {
    const url = lazyUrl(rd);
    if (url !== null) return new LazyRequest(rd, ctx, url) as unknown as Request;
  }
  return buildRequest(rd, ctx.signal);
}

function lazyUrl(rd: RequestData): string | null {
  const target = rd.url;
  if (target.charCodeAt(0) !== 47 /* '/' */ || !LAZY_METHODS.has(rd.method)) return null;
  const headers = rd.headers;
  let host: string | undefined;
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i]!;
    const name = pair[0];
    if (!HTTP_TOKEN.test(name) || BAD_VALUE.test(pair[1])) return null;
    if (host === undefined && name.length === 4 && name.toLowerCase() === 'host') host = pair[1];
  }
  if (!host) return null;
  return requestHref(rd.scheme, host, target);
}

/** The headers of the Response as pairs (the front drops framing ones: cleanHeaders, src/front/exchange.ts). */
function collectHeaders(response: Response): ResponseHeaders {
  const pairs = lightHeaders(response);
  if (pairs !== undefined) return pairs; // the LightResponse's own: nothing downstream changes them
  const out: [string, string][] = [];
  const h = response.headers;
  let cookies = false;
  for (const pair of h) {
    if (pair[0] === 'set-cookie') cookies = true; // lower-case, from Headers; joined here, sent apart below
    else out.push(pair);
  }
  if (cookies) {
    if (typeof h.getSetCookie === 'function') for (const c of h.getSetCookie()) out.push(['set-cookie', c]);
    else out.push(['set-cookie', h.get('set-cookie')!]);
  }
  return out;
}

function isResponseLike(v: unknown): v is Response {
  if (v instanceof Response) return true;
  return (
    typeof v === 'object' && v !== null && typeof (v as Response).status === 'number' &&
    typeof (v as Response).headers === 'object' && (v as Response).headers !== null &&
    typeof (v as Response).headers[Symbol.iterator] === 'function' && 'body' in v
  );
}

/** Builds an AppHandler around a fetch function (called with `this` = thisArg). */
export function makeFetchHandler(fetchFn: FetchFunction, thisArg: unknown, background: BackgroundTasks): AppHandler {
  const waitUntil = (p: unknown) => background.track(p); // one for every request of this app
  return guardedHandler((rd, ctx, g) => run(fetchFn, thisArg, waitUntil, rd, ctx, g));
}

// Synchronous as far as the app allows: a Response returned (not a promise) is sent in the same
// run, without the microtask hops of an async function.
function run(
  fetchFn: FetchFunction, thisArg: unknown, waitUntil: (p: unknown) => void,
  rd: RequestData, ctx: RequestContext, g: ResponseGuard,
): void {
  let response: unknown;
  try {
    const fctx = new RequestFetchContext(waitUntil, rd, ctx);
    response = fetchFn.call(thisArg, makeRequest(rd, ctx), fctx, fctx);
  } catch (err) {
    g.fail(err);
    return;
  }
  if (response !== null && (typeof response === 'object' || typeof response === 'function') &&
    typeof (response as PromiseLike<unknown>).then === 'function') {
    Promise.resolve(response).then((r) => respond(r, rd, g), (err: unknown) => g.fail(err));
  } else {
    respond(response, rd, g);
  }
}

function passThroughOnException(): void {}

/**
 * The FetchContext of one request. A class, not an object literal: a literal with a getter and
 * fresh closures cost about 0.5 µs a request. `signal` is a getter on the prototype (read only if
 * the app asks: ctx.signal may create the AbortSignal); the rest are own properties.
 */
class RequestFetchContext implements FetchContext {
  readonly waitUntil: (promise: unknown) => void;
  readonly passThroughOnException: () => void;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly scheme: 'http' | 'https';
  readonly workerId: number;
  readonly requestId: number;
  readonly #ctx: RequestContext;

  constructor(waitUntil: (promise: unknown) => void, rd: RequestData, ctx: RequestContext) {
    this.waitUntil = waitUntil;
    this.passThroughOnException = passThroughOnException;
    this.remoteAddress = rd.remoteAddress;
    this.remotePort = rd.remotePort;
    this.localAddress = rd.localAddress;
    this.localPort = rd.localPort;
    this.scheme = rd.scheme;
    this.workerId = ctx.workerId;
    this.requestId = rd.id;
    this.#ctx = ctx;
  }

  get signal(): AbortSignal {
    return this.#ctx.signal;
  }
}

function respond(response: unknown, rd: RequestData, g: ResponseGuard): void {
  try {
    const streaming = respondSync(response, rd, g);
    if (streaming !== undefined) streaming.catch((err: unknown) => g.fail(err));
  } catch (err) {
    g.fail(err);
  }
}

/** Sends the response; returns a promise only when the body has to be read from its stream. */
function respondSync(response: unknown, rd: RequestData, g: ResponseGuard): Promise<void> | undefined {
  if (!g.open) return; // aborted while the app was working
  if (!isResponseLike(response)) {
    throw new SpindleTypeError('APP_RESPONSE', `the fetch handler returned ${describeValue(response)}; it must return a Response (or a promise of one)`);
  }
  const status = response.status;
  if (status === 0 || (response as Response).type === 'error') {
    throw new SpindleTypeError('APP_RESPONSE', 'the fetch handler returned Response.error()');
  }
  const headers = collectHeaders(response);
  const method = rd.method;
  const light = lightSource(response);
  if (light !== undefined) {
    sendSource(light, status, headers, method, g);
    return;
  }
  const body = response.body;
  if (body === null || method === 'HEAD' || status === 204 || status === 304 || status < 200) {
    if (body !== null) body.cancel().catch(() => {});
    g.head(status, headers);
    g.end();
    return;
  }
  const src = storedSource(realResponse(response) ?? response, body);
  if (src !== undefined) {
    sendSource(src, status, headers, method, g);
    return;
  }
  return streamBody(body, status, headers, g);
}

/** Sends a body known up front (no stream read): whole, in one call (the front adds its Content-Length). */
function sendSource(src: LightSource, status: number, headers: ResponseHeaders, method: string, g: ResponseGuard): void {
  const bodiless = method === 'HEAD' || status === 204 || status === 304 || status < 200;
  g.full(status, headers, bodiless ? null : src);
}

/** Body bytes read before the head goes out; past this the body is streamed, not sent whole. */
const EARLY_LIMIT = 1024 * 1024;

async function streamBody(body: ReadableStream, status: number, headers: ResponseHeaders, g: ResponseGuard): Promise<void> {
  const reader = body.getReader();
  g.onAbort = (reason) => {
    reader.cancel(reason).catch(() => {});
  };
  // A body that is complete within this tick (a fixed body where the fast path is unavailable,
  // e.g. Node 24's undici) is sent whole with full(), which frames it; one still producing after
  // the tick is streamed (SSE), its head going out with what was read so far.
  const early: Uint8Array[] = [];
  let earlyBytes = 0;
  let tickPassed = false;
  const tick = new Promise<undefined>((resolve) => setImmediate(() => { tickPassed = true; resolve(undefined); }));
  let pending: Promise<{ done: boolean; value?: unknown }> | null = null;
  let done = false;
  while (!tickPassed) {
    pending ??= reader.read();
    const next = await Promise.race([pending, tick]);
    if (!g.open) return;
    if (!next) break; // the tick passed first: `pending` is still outstanding and is read below
    pending = null;
    if (next.done) { done = true; break; }
    const c = toChunk(next.value);
    early.push(c);
    earlyBytes += c.byteLength;
    if (earlyBytes >= EARLY_LIMIT) break; // a stream that produces without pause: stream it
  }
  if (done) {
    g.full(status, headers, early.length === 1 ? early[0]! : Buffer.concat(early)); // framed with its Content-Length
    return;
  }
  g.head(status, headers);
  for (const c of early) g.chunk(c);
  for (;;) {
    const { done: finished, value } = await (pending ?? reader.read());
    pending = null;
    if (!g.open) return;
    if (finished) break;
    g.chunk(toChunk(value));
    const drained = g.drained(); // the client reads slower than the app produces: wait for it
    if (drained !== undefined) await drained;
  }
  g.end();
}
