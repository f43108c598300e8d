// One response in flight: forwards the adapter's output to the caller's ResponseSink exactly in
// the order the contract allows (head once, chunks, end once - or full() once), settles the
// handler's result (no promise at all when the response completes synchronously), and turns an
// abort of ctx.signal into a rejection. Every adapter funnels its output through here, so no
// adapter can call head twice or chunk after end, whatever the app does.

import type { AbortState, AppHandler, RequestContext, RequestData, ResponseHeaders, ResponseSink } from '../app-types.js';

const WAITING = 0; // nothing sent yet
const STREAMING = 1; // head sent, body may follow
const DONE = 2; // end sent, promise resolved
const FAILED = 3; // promise rejected (app error, abort, sink error); nothing more is sent

const textEncoder = new TextEncoder();

export class ResponseGuard {
  state = WAITING;
  /** Called once when ctx.signal aborts while the response is incomplete (after rejecting). */
  onAbort: ((reason: unknown) => void) | null = null;
  private readonly sink: ResponseSink;
  // The handler's promise, made only if result() is asked for before the response is complete:
  // a response sent within the handler's synchronous run (the common case) needs none.
  private resolveResult: (() => void) | null = null;
  private rejectResult: ((err: unknown) => void) | null = null;
  /** A rejection that happened before result() was asked for. */
  private failure: { error: unknown } | null = null;
  // The abort source: ctx.lazyAbort when there is one (no AbortSignal is created), else ctx.signal.
  private readonly lazy: AbortState | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly abortListener: (reason?: unknown) => void;

  constructor(sink: ResponseSink, ctx: RequestContext) {
    this.sink = sink;
    this.abortListener = () => this.abort();
    const lazy = ctx.lazyAbort;
    if (lazy !== undefined) {
      this.lazy = lazy;
      lazy.listen(this.abortListener);
    } else {
      this.signal = ctx.signal;
      this.signal.addEventListener('abort', this.abortListener, { once: true });
    }
  }

  /**
   * What the AppHandler returns: undefined when the response is complete already, a rejected
   * promise when the handler failed already, else a promise that settles with the response.
   */
  result(): Promise<void> | undefined {
    if (this.failure !== null) return Promise.reject(this.failure.error);
    if (this.state === DONE) return undefined;
    return new Promise<void>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
  }

  private resolve(): void {
    const resolve = this.resolveResult;
    if (resolve !== null) resolve();
  }

  private reject(err: unknown): void {
    const reject = this.rejectResult;
    if (reject !== null) reject(err);
    else this.failure ??= { error: err };
  }

  get open(): boolean {
    return this.state < DONE;
  }

  get headSent(): boolean {
    return this.state !== WAITING;
  }

  head(status: number, headers: ResponseHeaders): void {
    if (this.state !== WAITING) return;
    this.state = STREAMING;
    try {
      this.sink.head(status, headers);
    } catch (err) {
      this.fail(err);
    }
  }

  chunk(data: Uint8Array): void {
    if (this.state !== STREAMING || data.byteLength === 0) return;
    try {
      this.sink.chunk(data);
    } catch (err) {
      this.fail(err);
    }
  }

  /** The sink's backpressure (ResponseSink.drained): undefined when more body may be sent now. */
  drained(): Promise<void> | undefined {
    if (this.state !== STREAMING || this.sink.drained === undefined) return undefined;
    return this.sink.drained();
  }

  /**
   * A complete response in one call: status, headers and the whole body (null: none). A sink with
   * full() gets it as one call and frames it; any other as head() with the body's Content-Length,
   * chunk() (a string encoded as UTF-8), end().
   */
  full(status: number, headers: ResponseHeaders, body: string | Uint8Array | null): void {
    if (this.state !== WAITING) return;
    const sink = this.sink;
    if (sink.full === undefined) {
      // framed as full() is: the body's Content-Length in place of any the app gave
      const bytes = body === null ? null : typeof body === 'string' ? textEncoder.encode(body) : body;
      const framed = headers.filter(([name]) => name.toLowerCase() !== 'content-length');
      if (bytes !== null) framed.push(['content-length', String(bytes.byteLength)]);
      this.head(status, framed);
      if (bytes !== null) this.chunk(bytes);
      this.end();
      return;
    }
    this.state = DONE;
    this.unlisten();
    try {
      sink.full(status, headers, body);
    } catch (err) {
      this.reject(err);
      return;
    }
    this.resolve();
  }

  end(): void {
    if (this.state !== STREAMING) return;
    this.state = DONE;
    this.unlisten();
    try {
      this.sink.end();
    } catch (err) {
      this.reject(err);
      return;
    }
    this.resolve();
  }

  fail(err: unknown): void {
    if (this.state >= DONE) return;
    this.state = FAILED;
    this.unlisten();
    this.reject(err);
  }

  private unlisten(): void {
    if (this.lazy !== undefined) this.lazy.unlisten(this.abortListener);
    else this.signal!.removeEventListener('abort', this.abortListener);
  }

  private abort(): void {
    if (this.state >= DONE) return;
    const reason = (this.lazy !== undefined ? this.lazy.reason : this.signal!.reason) ?? abortError();
    this.fail(reason);
    const hook = this.onAbort;
    this.onAbort = null;
    if (hook) hook(reason);
  }
}

/** Whether ctx is aborted already, and why, without creating ctx.signal when it is lazy. */
export function abortedReason(ctx: RequestContext): { reason: unknown } | null {
  const lazy = ctx.lazyAbort;
  if (lazy !== undefined) return lazy.aborted ? { reason: lazy.reason } : null;
  const signal = ctx.signal;
  return signal.aborted ? { reason: signal.reason } : null;
}

/**
 * An AppHandler from a function that drives one request through a ResponseGuard: a request
 * already aborted is refused before the app sees it, and the result is the guard's (no promise
 * when the response was complete before `start` returned).
 */
export function guardedHandler(start: (rd: RequestData, ctx: RequestContext, g: ResponseGuard) => void): AppHandler {
  return (rd: RequestData, sink: ResponseSink, ctx: RequestContext) => {
    const aborted = abortedReason(ctx);
    if (aborted !== null) return Promise.reject(aborted.reason);
    const g = new ResponseGuard(sink, ctx);
    try {
      start(rd, ctx, g);
    } catch (err) {
      g.fail(err);
    }
    return g.result();
  };
}

export function abortError(): Error {
  const err = new Error('The request was aborted');
  err.name = 'AbortError';
  return err;
}

/** A short description of a value for error messages: `a number (42)`, `an object with keys [a, b]`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'function': {
      const name = (value as { name?: string }).name;
      const keys = Object.keys(value);
      return `a function${name ? ` named ${name}` : ''} taking ${(value as Function).length} argument(s)` +
        (keys.length ? ` with properties [${keys.slice(0, 10).join(', ')}]` : '');
    }
    case 'object': {
      const ctor = (value as object).constructor?.name;
      const keys = Object.keys(value as object);
      return `${ctor && ctor !== 'Object' ? `a ${ctor} instance` : 'an object'}` +
        ` with keys [${keys.slice(0, 10).join(', ')}${keys.length > 10 ? ', …' : ''}]`;
    }
    case 'string':
      return `a string (${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)})`;
    default:
      return `a ${typeof value} (${String(value)})`;
  }
}
