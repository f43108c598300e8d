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
// forwarded too. Newer undici (Node 24) keeps that state in private fields, which no forwarding
// reaches: there the worker's global Request and fetch are replaced by thin wrappers that hand
// undici the real Request behind a LazyRequest (installRequestUnwrapping). Only if even that
// fails is `lazyRequestSupported` false, and the adapter builds real Requests up front.

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

  /** Is `x` a LazyRequest (its own fields, not merely its prototype)? */
  static is(x: unknown): x is LazyRequest {
    return typeof x === 'object' && x !== null && #rd in x;
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
 * Puts the native Request.prototype under LazyRequest.prototype, once. Not at import: touching
 * Request loads undici (about 20 ms on Node 20), which a worker's start-up should not wait for.
 */
function wirePrototype(Native: typeof Request): void {
  const requestProto = Native.prototype as unknown as Record<PropertyKey, unknown>;
  Object.setPrototypeOf(LazyRequest.prototype, Native.prototype);
  Object.defineProperty(LazyRequest.prototype, 'constructor', { configurable: true, writable: true, value: Native });
  for (const key of Reflect.ownKeys(Native.prototype)) {
    if (OWN.has(key)) continue;
    forward(key, Object.getOwnPropertyDescriptor(Native.prototype, key)!);
  }
  // undici state kept in symbol-keyed instance properties (Node 20): read by new Request(req) / fetch(req)
  for (const sym of Object.getOwnPropertySymbols(new Native('http://probe.invalid/'))) {
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
  if (supported === null) {
    const Native = globalThis.Request;
    wirePrototype(Native);
    supported = probeSupport();
    if (!supported && installRequestUnwrapping(Native)) supported = probeSupport();
  }
  return supported;
}

/**
 * Replaces this thread's global Request and fetch with wrappers that pass undici the real Request
 * behind a LazyRequest: `new Request(lazy)` and `fetch(lazy)` then work where undici reads private
 * fields. The wrapper class keeps `instanceof Request` true for every Request, native or lazy, and
 * is what LazyRequest reports as its constructor. Returns false if the globals cannot be replaced.
 */
type Input = ConstructorParameters<typeof Request>[0];

function installRequestUnwrapping(Native: typeof Request): boolean {
  const nativeFetch = globalThis.fetch;
  const unwrap = (input: unknown): unknown => (LazyRequest.is(input) ? LazyRequest.real(input) : input);
  const Wrapped = class Request extends Native {
    constructor(input: Input, init?: RequestInit) {
      super(unwrap(input) as Input, init);
    }

    static override [Symbol.hasInstance](x: unknown): boolean {
      return x instanceof Native;
    }
  };
  function fetch(input: Input, init?: RequestInit): Promise<Response> {
    return nativeFetch(unwrap(input) as Input, init);
  }
  try {
    Object.defineProperty(globalThis, 'Request', { configurable: true, writable: true, enumerable: false, value: Wrapped });
    Object.defineProperty(globalThis, 'fetch', { configurable: true, writable: true, enumerable: false, value: fetch });
  } catch {
    return false;
  }
  Object.defineProperty(LazyRequest.prototype, 'constructor', { configurable: true, writable: true, value: Wrapped });
  return true;
}

function probeSupport(): boolean {
  try {
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
