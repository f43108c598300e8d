// The contract between the worker's HTTP front (own-http.ts) and the app adapters (fetch apps,
// and Node apps whose body is read first). The front turns a parsed request into plain data
// (RequestData); the adapter turns it into a call of the user's application and reports the
// response as a stream of events on a ResponseSink (part-sink.ts), which writes it to the client.
// No node: imports here, so any thread can use the types.

export interface RequestData {
  id: number;
  method: string;
  /** Origin-form target as received: '/path?query'. */
  url: string;
  /** '1.1' | '1.0' */
  httpVersion: string;
  /** Raw header pairs in order, names as received (lowercase is fine). */
  headers: [string, string][];
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  scheme: 'http' | 'https';
  /** Whole request body (already bounded by limit-post), null if none. */
  body: Uint8Array | null;
}

/** A response's header pairs as an adapter hands them to its sink, which reads them and never changes them. */
export type ResponseHeaders = readonly (readonly [string, string])[];

export interface ResponseSink {
  /** Status and headers; called exactly once, before any body. Header values may repeat (set-cookie). */
  head(status: number, headers: ResponseHeaders): void;
  /**
   * A body chunk. Called as soon as the app produces it (streaming: SSE must flow incrementally).
   * The bytes may be a view into memory the app or Node still uses (e.g. Buffer's shared pool):
   * never transfer or detach `data.buffer`. Like node:http's res.write(), the sink may keep the
   * view until the end of the tick without copying it.
   * Empty chunks are never delivered.
   */
  chunk(data: Uint8Array): void;
  /** The response is complete. */
  end(): void;
  /**
   * Optional: a complete response in one call, instead of head(), chunk() and end(): status,
   * headers and the whole body (a string is sent as UTF-8; null or empty: no body). The sink
   * frames it: its Content-Length replaces any the app gave.
   */
  full?(status: number, headers: ResponseHeaders, body: string | Uint8Array | null): void;
  /**
   * Optional backpressure: undefined while the sink takes more body now; otherwise a promise that
   * settles once it does (or the response is gone). A streaming adapter waits for it between chunks.
   */
  drained?(): Promise<void> | undefined;
}

export interface RequestContext {
  /**
   * Aborted on client disconnect or harakiri's graceful stage. A fresh signal per request, never
   * one shared across requests: a fetch app's Request follows this signal, and undici only drops
   * its listener when the Request is garbage-collected, so a long-lived shared signal would
   * accumulate listeners. May be a getter that creates the AbortController on first access (see
   * `lazyAbort`): adapters read it only when the app asks for a signal.
   */
  readonly signal: AbortSignal;
  workerId: number;
  /**
   * Optional cheap view of the same abort state (the worker entry passes a RequestAbort). When
   * present, adapters use it instead of `signal`, so no AbortSignal exists unless the app wants one.
   */
  readonly lazyAbort?: AbortState;
}

export type AbortHook = (reason: unknown) => void;

/** Abort state without an AbortSignal: a flag, the reason, and internal callbacks. */
export interface AbortState {
  readonly aborted: boolean;
  readonly reason: unknown;
  /** Calls `hook(reason)` once when the request aborts (never if it already has). */
  listen(hook: AbortHook): void;
  unlisten(hook: AbortHook): void;
}

/**
 * Runs one request. Returns undefined when the response was complete (`sink.end()` or
 * `sink.full()` called) before it returned - no promise is made for that common case - and
 * otherwise a promise that resolves after `sink.end()`. It rejects if the app throws/rejects
 * before `sink.head()` (the caller answers 500 and logs the stack) or after it (no more sink
 * calls are made; the caller closes the connection). When `ctx.signal` aborts before the
 * response is complete, the app is told (fetch: `request.signal`; node: req 'aborted'/'close',
 * res 'close') and the promise rejects at once with the signal's reason; later output is dropped.
 */
export type AppHandler = (req: RequestData, sink: ResponseSink, ctx: RequestContext) => Promise<void> | undefined;

export type AppKind = 'fetch' | 'node' | 'fastify' | 'koa';

/** A Node `(req, res)` listener (also Koa's callback() and Fastify's routing), and its `this`. */
export interface NodeDispatchTarget {
  fn: (req: never, res: never) => unknown;
  thisArg?: unknown;
}

export interface LoadedApp {
  handler: AppHandler;
  kind: AppKind;
  /**
   * For Node-style apps: the listener itself, so a worker that accepts HTTP itself (accept =
   * workers) can hand it node:http's real request and response instead of emulating them.
   */
  dispatch?: NodeDispatchTarget;
  /**
   * Release the app (Fastify's `close()`), and wait for pending fetch `ctx.waitUntil()` promises.
   * Always present for the kinds loadApp returns; optional in the contract.
   */
  close?: () => Promise<void>;
  /** Absolute path of the loaded module. */
  path: string;
  /** Which export was used and how it was recognised, e.g. "default export: Express app". */
  description: string;
}
