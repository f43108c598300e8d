// A Request for fetch apps that costs almost nothing until the app needs a real one.
//
// undici's Request constructor is one of the larger per-request costs of a hello-world fetch app:
// it parses the URL, validates and copies the headers, creates an AbortController and subscribes
// it to the request's signal. Most handlers only look at `method`, `url` and a header or two. A
// LazyRequest answers those from the request data (`headers` is a Headers built on first access)
// and creates the real undici Request - with `ctx.signal`, which a lazy RequestContext creates
// only then - the first time anything else is used: body, signal, clone(), json(), text(),
// arrayBuffer(), formData(), blob(), bytes(), bodyUsed, cache, credentials, and so on.
//
// Its prototype chain reaches Request.prototype, so `request instanceof Request` holds (Hono and
// others check it). Request.prototype's own accessors and methods brand-check their receiver, so
// LazyRequest.prototype overrides every one of them with a version that forwards to the real
// Request. Node 20's undici also reads its internal state through symbol-keyed instance
// properties when a request is passed to `new Request(request)` or `fetch(request)`; those are
// forwarded too. Where that does not work (undici with private fields, e.g. Node 24),
// `lazyRequestSupported` is false and the adapter builds real Requests up front.

import type { RequestContext, RequestData } from '../app-types.js';

export class LazyRequest {
  #rd: RequestData;
  #ctx: RequestContext;
  #url: string;
  #headers: Headers | null = null;
  #real: Request | null = null;

  constructor(rd: RequestData, ctx: RequestContext, url: string) {
    this.#rd = rd;
    this.#ctx = ctx;
    this.#url = url;
  }

  get method(): string {
    return this.#rd.method;
  }

  get url(): string {
    return this.#url;
  }

  get headers(): Headers {
    // The same object before and after the real Request exists (it was copied into that one).
    let h = this.#headers;
    if (h === null) {
      const real = this.#real;
      if (real !== null) return real.headers;
      h = this.#headers = new Headers(this.#rd.headers);
    }
    return h;
  }

  /** The undici Request behind `r`, created on first use. */
  static real(r: LazyRequest): Request {
    let real = r.#real;
    if (real === null) {
      const rd = r.#rd;
      const method = rd.method;
      const init: RequestInit = { method, headers: r.#headers ?? rd.headers, signal: r.#ctx.signal };
      if (rd.body !== null && method !== 'GET' && method !== 'HEAD') init.body = rd.body;
      real = r.#real = new Request(r.#url, init);
    }
    return real;
  }
}

const realOf = (r: unknown): Request => LazyRequest.real(r as LazyRequest);
const lazyProto = LazyRequest.prototype as unknown as Record<PropertyKey, unknown>;
const OWN = new Set<PropertyKey>(['constructor', 'method', 'url', 'headers', Symbol.toStringTag]);

function forward(key: PropertyKey, d: PropertyDescriptor): void {
  if (d.get !== undefined || d.set !== undefined) {
    const get = d.get;
    const set = d.set;
    Object.defineProperty(lazyProto, key, {
      configurable: true,
      enumerable: d.enumerable ?? false,
      get: get === undefined ? undefined : function (this: unknown) { return get.call(realOf(this)); },
      set: set === undefined ? undefined : function (this: unknown, v: unknown) { set.call(realOf(this), v); },
    });
  } else if (typeof d.value === 'function') {
    const fn = d.value as (...args: unknown[]) => unknown;
    const wrapper = {
      [fn.name || String(key)](this: unknown, ...args: unknown[]): unknown { return fn.apply(realOf(this), args); },
    }[fn.name || String(key)]!;
    Object.defineProperty(lazyProto, key, { configurable: true, enumerable: d.enumerable ?? false, writable: true, value: wrapper });
  }
}

/**
 * Puts Request.prototype under LazyRequest.prototype, once. Not at import: touching Request loads
 * undici (about 20 ms on Node 20), which a worker's start-up should not wait for.
 */
function wirePrototype(): void {
  const requestProto = Request.prototype as unknown as Record<PropertyKey, unknown>;
  Object.setPrototypeOf(LazyRequest.prototype, Request.prototype);
  Object.defineProperty(LazyRequest.prototype, 'constructor', { configurable: true, writable: true, value: Request });
  for (const key of Reflect.ownKeys(Request.prototype)) {
    if (OWN.has(key)) continue;
    forward(key, Object.getOwnPropertyDescriptor(Request.prototype, key)!);
  }
  // undici state kept in symbol-keyed instance properties (Node 20): read by new Request(req) / fetch(req)
  for (const sym of Object.getOwnPropertySymbols(new Request('http://probe.invalid/'))) {
    if (!(sym in requestProto)) {
      Object.defineProperty(lazyProto, sym, {
        configurable: true,
        get(this: unknown) { return (realOf(this) as unknown as Record<symbol, unknown>)[sym]; },
      });
    }
  }
}

let supported: boolean | null = null;

/**
 * Whether a LazyRequest passes for a Request on this runtime, `new Request(lazy)` included. The
 * first call wires the prototype: call it before making LazyRequests.
 */
export function lazyRequestSupported(): boolean {
  supported ??= probeSupport();
  return supported;
}

function probeSupport(): boolean {
  try {
    wirePrototype();
    const rd: RequestData = {
      id: 0, method: 'POST', url: '/p?q=1', httpVersion: '1.1', headers: [['host', 'probe.invalid'], ['x-probe', 'a']],
      remoteAddress: '', remotePort: 0, localAddress: '', localPort: 0, scheme: 'http', body: new Uint8Array([104, 105]),
    };
    const ctx = { signal: new AbortController().signal, workerId: 0 };
    const lazy = new LazyRequest(rd, ctx, 'http://probe.invalid/p?q=1') as unknown as Request;
    if (!(lazy instanceof Request) || lazy.bodyUsed !== false) return false;
    const copy = new Request(lazy); // takes over the body
    return copy.url === 'http://probe.invalid/p?q=1' && copy.method === 'POST' && copy.headers.get('x-probe') === 'a' &&
      (lazy.bodyUsed as boolean) === true;
  } catch {
    return false;
  }
}
