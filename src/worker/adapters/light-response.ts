// A Response a fetch app can make without undici building a ReadableStream for its body.
//
// `new Response('hi')` in Node's undici always builds a ReadableStream (a byte stream, which on
// Node 20 also goes through makeTransferable): about 25 µs of a hello-world request there, more
// than the rest of the request together. A worker therefore replaces the global `Response` with
// LightResponse (installLightResponse, before the app loads; @hono/node-server does the same by
// default). For the bodies servers send most - null, a string, bytes (ArrayBuffer or a view),
// Response.json() - with a plain init, it keeps status, statusText, the headers and the body
// source, checked as undici checks them, and the adapter sends the source as it is
// (lightSource). Headers given as a plain object of strings are kept as checked pairs (the
// adapter reads them with lightHeaders); the Headers object is made the first time the app reads
// `response.headers` (undici's Headers cost about a tenth of a hello request on Node 24).
// A real undici Response is made only when the app wants one:
//   - "carrier": the first time the body itself is used (body, text(), json(), arrayBuffer(),
//     blob(), formData(), …), an undici Response over the same source carries it from then on;
//     status, statusText and headers stay this object's (so a Headers reference the app holds
//     stays the live one; the carrier's Content-Type is kept equal to it for blob()/formData());
//   - "real": any other body (a stream, Blob, FormData, URLSearchParams, …) or an init that is
//     not plain (statusText, a status outside 200-599, headers Headers() rejects, a body with
//     204/205/304) is handed to undici's constructor at once, which accepts it or throws exactly
//     as before; the object then forwards everything to that Response.
// `instanceof Response` holds for both kinds and for undici's own (fetch()) Responses; the
// prototype chain reaches undici's Response.prototype, whose brand-checked members are
// overridden here to forward to the real/carrier Response. What differs from undici's own:
// `response.constructor` is this class (it is the global Response), and undici's internal
// symbol-keyed state is not on these objects.

import { isProxy } from 'node:util/types';
import { HTTP_TOKEN } from '../../front/http-token.js';
import type { ResponseHeaders } from '../app-types.js';

/** What the adapter sends: a string, bytes (a private copy, as undici makes), or no body. */
export type LightSource = string | Uint8Array | null;

/** Header pairs as Headers would hold them: lower-case names, no name twice, values checked. */
type HeaderPairs = [string, string][];

interface LightState {
  status: number;
  statusText: string;
  /** The Headers object; null until asked for, while `pairs` holds the headers. */
  headers: Headers | null;
  pairs: HeaderPairs | null;
  /** The body as given (bytes copied); NONE for a clone made after the carrier existed. */
  source: LightSource | typeof NONE;
  /** undici Response carrying the body, once the body was used. */
  carrier: Response | null;
}

const NONE = Symbol('spindle.noSource');
type NativeBody = ConstructorParameters<typeof Response>[0];
type NativeInit = ConstructorParameters<typeof Response>[1];
/** The constructor's private entry (clone, json): its second argument is a ready LightState. */
const kMake = Symbol('spindle.makeLight');
const TEXT_TYPE = 'text/plain;charset=UTF-8';
const JSON_TYPE = 'application/json';
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;
// A header value Headers keeps as it is: Latin-1 (a ByteString), no NUL/CR/LF, nothing for it to
// trim (HTTP whitespace at either end). Anything else goes through Headers, which trims or throws.
const PLAIN_VALUE = /^(?:[^\0\t\n\r \u0100-\uffff](?:[^\0\n\r\u0100-\uffff]*[^\0\t\n\r \u0100-\uffff])?)?$/;
/** More headers than this in one init: let Headers handle them (the duplicate check is quadratic). */
const MAX_PLAIN_HEADERS = 32;

// undici's Response, found on first need (touching it loads undici: ~20 ms on Node 20).
let native: typeof Response | undefined;
/** Set by installLightResponse: how to get undici's Response once the global is ours. */
let installedFrom: PropertyDescriptor | undefined;

function nativeResponse(): typeof Response {
  if (native !== undefined) return native;
  let found: typeof Response;
  if (installedFrom === undefined) {
    found = globalThis.Response;
  } else if (installedFrom.get !== undefined) {
    // Node 20's lazy global: its getter loads undici and redefines the global to undici's class,
    // so put ours back right after.
    found = installedFrom.get.call(globalThis) as typeof Response;
    defineGlobal();
  } else {
    found = installedFrom.value as typeof Response;
  }
  native = found;
  wirePrototype(found);
  return found;
}

/** Copies bytes as undici's extractBody does; undefined when undici must judge the body. */
function lightBody(body: unknown): LightSource | undefined {
  if (body === null || body === undefined) return null;
  if (typeof body === 'string') return body;
  try {
    if (body instanceof ArrayBuffer) {
      if ((body as { resizable?: boolean }).resizable === true) return undefined;
      return new Uint8Array(body.slice(0));
    }
    if (ArrayBuffer.isView(body)) {
      const buf = body.buffer;
      if (!(buf instanceof ArrayBuffer) || (buf as { resizable?: boolean }).resizable === true) return undefined;
      return new Uint8Array(buf.slice(body.byteOffset, body.byteOffset + body.byteLength));
    }
  } catch {
    return undefined; // e.g. a detached buffer: let undici say what is wrong
  }
  return undefined;
}

interface LightInit {
  status: number;
  statusText: string;
  headers: Headers | null;
  pairs: HeaderPairs | null;
}

/** status, statusText, headers from a plain init; undefined when undici must judge it. */
function lightInit(init: unknown): LightInit | undefined {
  if (init === undefined || init === null) return { status: 200, statusText: '', headers: null, pairs: [] };
  if (typeof init !== 'object') return undefined;
  const proto = Object.getPrototypeOf(init);
  if (proto !== Object.prototype && proto !== null) return undefined;
  // read in the order undici's ResponseInit conversion reads them
  const i = init as NonNullable<NativeInit>;
  let status = i.status;
  const statusText = i.statusText;
  const h = i.headers;
  if (status === undefined) status = 200;
  else if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) return undefined;
  if (statusText !== undefined && (typeof statusText !== 'string' || !REASON_PHRASE.test(statusText))) return undefined;
  if (h === undefined || h === null) return { status, statusText: statusText ?? '', headers: null, pairs: [] };
  const pairs = plainPairs(h);
  if (pairs !== undefined) return { status, statusText: statusText ?? '', headers: null, pairs };
  let headers: Headers;
  try {
    headers = new Headers(h);
  } catch {
    return undefined; // undici throws its own error for these headers
  }
  return { status, statusText: statusText ?? '', headers, pairs: null };
}

/**
 * The pairs of a headers init that is a plain object of plain string values under distinct
 * names (`{ 'content-type': 'text/html' }`), exactly as Headers would keep them; undefined for
 * anything else (Headers, arrays, proxies, symbols, non-strings, values it would trim or refuse,
 * names that differ only in case), which then goes to `new Headers()` as before.
 */
function plainPairs(h: object): HeaderPairs | undefined {
  const proto = Object.getPrototypeOf(h);
  if ((proto !== Object.prototype && proto !== null) || isProxy(h)) return undefined;
  const keys = Object.keys(h);
  if (keys.length > MAX_PLAIN_HEADERS || Object.getOwnPropertySymbols(h).length !== 0) return undefined;
  const pairs: HeaderPairs = [];
  for (let k = 0; k < keys.length; k++) {
    const name = keys[k]!;
    const value = (h as Record<string, unknown>)[name];
    if (typeof value !== 'string' || !HTTP_TOKEN.test(name) || !PLAIN_VALUE.test(value)) return undefined;
    const lower = name.toLowerCase();
    for (let j = 0; j < pairs.length; j++) if (pairs[j]![0] === lower) return undefined;
    pairs.push([lower, value]);
  }
  return pairs;
}

/** Adds `type` as the Content-Type unless there is one (as undici does for string and JSON bodies). */
function defaultContentType(p: LightInit, type: string): void {
  if (p.pairs !== null) {
    if (pairValue(p.pairs, 'content-type') === null) p.pairs.push(['content-type', type]);
  } else if (!p.headers!.has('content-type')) {
    p.headers!.append('content-type', type);
  }
}

function pairValue(pairs: HeaderPairs, lower: string): string | null {
  for (let i = 0; i < pairs.length; i++) if (pairs[i]![0] === lower) return pairs[i]![1];
  return null;
}

/** The state's Headers object, made from its pairs the first time it is asked for. */
function headersOf(s: LightState): Headers {
  if (s.headers !== null) return s.headers;
  const headers = new Headers();
  for (const [name, value] of s.pairs!) headers.append(name, value);
  s.headers = headers;
  s.pairs = null;
  return headers;
}

/** The current Content-Type of the state, without making its Headers. */
function contentTypeOf(s: LightState): string | null {
  return s.headers !== null ? s.headers.get('content-type') : pairValue(s.pairs!, 'content-type');
}

const nullBodyStatus = (status: number): boolean => status === 204 || status === 205 || status === 304;

// Module-level views of the private state (set in the class's static block), so that the class's
// static side is exactly Response's: json, error, redirect.
let stateOf: (r: object) => LightState | null | undefined;
let realOf: (r: object) => Response | null | undefined;

export class LightResponse {
  /** Mode "light": the state above. */
  #s: LightState | null = null;
  /** Mode "real": the undici Response everything forwards to. */
  #real: Response | null = null;

  static {
    stateOf = (r) => (#s in r ? (r as LightResponse).#s : undefined);
    realOf = (r) => (#real in r ? (r as LightResponse).#real : undefined);
  }

  constructor(body?: unknown, init?: unknown) {
    if (body === kMake) {
      this.#s = init as LightState;
      return;
    }
    const source = lightBody(body);
    const parsed = source === undefined ? undefined : lightInit(init);
    if (source === undefined || parsed === undefined || (source !== null && nullBodyStatus(parsed.status))) {
      const Native = nativeResponse();
      this.#real = new Native(body as NativeBody, init as NativeInit); // accepts it, or throws undici's error
      return;
    }
    if (typeof source === 'string') defaultContentType(parsed, TEXT_TYPE);
    this.#s = { status: parsed.status, statusText: parsed.statusText, headers: parsed.headers, pairs: parsed.pairs, source, carrier: null };
    if (native === undefined) nativeResponse(); // the first one wires the prototype chain
  }

  static json(data: unknown, init?: unknown): Response {
    const Native = nativeResponse();
    if (arguments.length === 0) return Reflect.apply(Native.json, Native, []) as Response; // undici's TypeError
    const parsed = lightInit(init);
    if (parsed === undefined || nullBodyStatus(parsed.status)) return Native.json(data, init as NativeInit);
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable'); // as undici
    defaultContentType(parsed, JSON_TYPE);
    const state: LightState = { status: parsed.status, statusText: parsed.statusText, headers: parsed.headers, pairs: parsed.pairs, source: text, carrier: null };
    return new LightResponse(kMake, state) as unknown as Response;
  }

  static error(): Response {
    return nativeResponse().error();
  }

  static redirect(url: string | URL, status?: number): Response {
    const Native = nativeResponse();
    return Reflect.apply(Native.redirect, Native, arguments.length < 2 ? [url] : [url, status]) as Response;
  }

  /** Responses of undici itself (fetch()) and of this class; a subclass checks its own prototype. */
  static [Symbol.hasInstance](v: unknown): boolean {
    if (this !== LightResponse) return Function.prototype[Symbol.hasInstance].call(this, v);
    return Function.prototype[Symbol.hasInstance].call(nativeResponse(), v);
  }

  get status(): number {
    return this.#s !== null ? this.#s.status : this.#real!.status;
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status <= 299;
  }

  get statusText(): string {
    return this.#s !== null ? this.#s.statusText : this.#real!.statusText;
  }

  get headers(): Headers {
    return this.#s !== null ? headersOf(this.#s) : this.#real!.headers;
  }

  get type(): Response['type'] {
    return this.#s !== null ? 'default' : this.#real!.type;
  }

  get url(): string {
    return this.#s !== null ? '' : this.#real!.url;
  }

  get redirected(): boolean {
    return this.#s !== null ? false : this.#real!.redirected;
  }

  get body(): ReadableStream<Uint8Array> | null {
    const s = this.#s;
    if (s === null) return this.#real!.body;
    if (s.source === null) return null;
    return targetOf(this).body;
  }

  get bodyUsed(): boolean {
    const s = this.#s;
    if (s === null) return this.#real!.bodyUsed;
    return s.carrier !== null && s.carrier.bodyUsed;
  }

  clone(): Response {
    const s = this.#s;
    if (s === null) return this.#real!.clone();
    const headers = s.headers !== null ? new Headers(s.headers) : null;
    const pairs = s.pairs !== null ? s.pairs.slice() : null; // the pairs themselves are never changed
    // With a carrier: throws as undici's clone() does when the body was used; else tees its stream.
    const state: LightState = s.carrier === null
      ? { status: s.status, statusText: s.statusText, headers, pairs, source: s.source, carrier: null }
      : { status: s.status, statusText: s.statusText, headers, pairs, source: NONE, carrier: s.carrier.clone() };
    return new LightResponse(kMake, state) as unknown as Response;
  }

  // The body readers, here (not only forwarded by wirePrototype) so that they exist before undici
  // is loaded; they read through the real Response or the carrier.
  arrayBuffer(): Promise<ArrayBuffer> {
    return targetOf(this).arrayBuffer();
  }

  blob(): Promise<Blob> {
    return targetOf(this).blob();
  }

  formData(): Promise<FormData> {
    return targetOf(this).formData();
  }

  json(): Promise<unknown> {
    return targetOf(this).json();
  }

  text(): Promise<string> {
    return targetOf(this).text();
  }

  [Symbol.for('nodejs.util.inspect.custom')](depth: number, options: object, inspect: (v: unknown, o: object) => string): string {
    const s = this.#s;
    if (s === null) return inspect(this.#real, options);
    const body = s.source === null ? null : s.carrier !== null ? s.carrier.body : s.source;
    const view = {
      status: s.status, statusText: s.statusText, headers: headersOf(s), body,
      bodyUsed: this.bodyUsed, ok: this.ok, redirected: false, type: 'default', url: '',
    };
    return `Response ${depth < 0 ? '{…}' : inspect(view, options)}`;
  }
}

/**
 * The body to send for `r` without any stream: a string, bytes or null (no body) when `r` is a
 * LightResponse whose body has not been used; undefined otherwise (then read `r.body`).
 */
export function lightSource(r: object): LightSource | undefined {
  const s = stateOf(r);
  if (s === undefined || s === null || s.source === NONE) return undefined;
  const c = s.carrier;
  if (c !== null) {
    // The app touched the body; its stream may still be untouched (e.g. `if (res.body)`).
    const stream = c.body;
    if (c.bodyUsed || (stream !== null && stream.locked)) return undefined;
  }
  return s.source;
}

/**
 * The headers of `r` as pairs when it is a LightResponse whose Headers object was never made
 * (the app never read `response.headers`); undefined otherwise (then read `r.headers`). Shared:
 * the caller must not change them.
 */
export function lightHeaders(r: object): ResponseHeaders | undefined {
  const s = stateOf(r);
  if (s === undefined || s === null || s.pairs === null) return undefined;
  return s.pairs;
}

/** The undici Response behind a LightResponse that forwards everything to one (else undefined). */
export function realResponse(r: object): Response | undefined {
  return realOf(r) ?? undefined;
}

/**
 * The undici Response that answers what LightResponse does not: the real one, or the carrier
 * (made now if needed), with its Content-Type made equal to the LightResponse's current one.
 */
function targetOf(r: LightResponse): Response {
  const real = realOf(r);
  if (real) return real;
  const s = stateOf(r)!;
  let carrier = s.carrier;
  if (carrier === null) {
    const Native = nativeResponse();
    carrier = s.carrier = new Native(s.source as NativeBody);
  }
  const want = contentTypeOf(s);
  if (carrier.headers.get('content-type') !== want) {
    if (want === null) carrier.headers.delete('content-type');
    else carrier.headers.set('content-type', want);
  }
  return carrier;
}

/**
 * Puts undici's Response under LightResponse (prototype and statics) and overrides every member
 * of its prototype this class does not define with one that forwards to targetOf().
 */
function wirePrototype(Native: typeof Response): void {
  const proto = LightResponse.prototype as unknown as Record<PropertyKey, unknown>;
  Object.setPrototypeOf(LightResponse.prototype, Native.prototype);
  Object.setPrototypeOf(LightResponse, Native);
  for (const key of Reflect.ownKeys(Native.prototype)) {
    if (key === 'constructor' || key === Symbol.toStringTag) continue;
    const d = Object.getOwnPropertyDescriptor(Native.prototype, key)!;
    const own = Object.getOwnPropertyDescriptor(proto, key);
    if (own !== undefined) {
      // one of ours: only made as (non-)enumerable as undici's
      Object.defineProperty(proto, key, { ...own, enumerable: d.enumerable ?? false });
      continue;
    }
    if (d.get !== undefined) {
      const get = d.get;
      Object.defineProperty(proto, key, {
        configurable: true, enumerable: d.enumerable ?? false,
        get(this: LightResponse) { return get.call(targetOf(this)); },
      });
    } else if (typeof d.value === 'function') {
      const fn = d.value as (...args: unknown[]) => unknown;
      const name = typeof key === 'symbol' ? String(key) : key;
      const wrapper = { [name](this: LightResponse, ...args: unknown[]): unknown { return fn.apply(targetOf(this), args); } }[name]!;
      Object.defineProperty(proto, key, { configurable: true, enumerable: d.enumerable ?? false, writable: true, value: wrapper });
    }
  }
}

// It stands for Response: `Response.name`, `response.constructor.name` say so.
Object.defineProperty(LightResponse, 'name', { configurable: true, value: 'Response' });

function defineGlobal(): void {
  Object.defineProperty(globalThis, 'Response', { configurable: true, enumerable: false, writable: true, value: LightResponse });
}

/**
 * Makes LightResponse this thread's global Response, once. Call it before the app is imported.
 * It does not load undici (that happens at the first Response, or in warmUpLightResponse()).
 */
export function installLightResponse(): void {
  if (installedFrom !== undefined) return;
  const d = Object.getOwnPropertyDescriptor(globalThis, 'Response');
  if (d === undefined || d.value === LightResponse) return;
  installedFrom = d;
  defineGlobal();
}

/** Loads undici and wires the prototype now, so that the first request does not wait for it. */
export function warmUpLightResponse(): void {
  nativeResponse();
}
