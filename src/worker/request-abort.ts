// The per-request abort state the worker entry hands the adapters as their RequestContext.
//
// An AbortController costs several microseconds to create in Node 20 (AbortSignal creation goes
// through makeTransferable), and every listener on it is an EventTarget registration. Most
// requests are never aborted and most apps never look at a signal, so this keeps a plain flag,
// the reason and internal callbacks, and creates the AbortController only when someone reads
// `signal` (already aborted, with the same reason, if the abort came first). One instance per
// request, never shared: a fetch app's Request follows the signal, and undici drops its listener
// only when that Request is garbage-collected.

import type { AbortHook, AbortState, RequestContext } from './app-types.js';

export class RequestAbort implements RequestContext, AbortState {
  aborted = false;
  reason: unknown = undefined;
  readonly workerId: number;
  private controller: AbortController | null = null;
  // one hook (the common case: the ResponseGuard) or, rarely, several
  private hooks: AbortHook | AbortHook[] | null = null;

  constructor(workerId: number) {
    this.workerId = workerId;
  }

  get lazyAbort(): AbortState {
    return this;
  }

  get signal(): AbortSignal {
    let c = this.controller;
    if (c === null) {
      c = this.controller = new AbortController();
      if (this.aborted) c.abort(this.reason);
    }
    return c.signal;
  }

  /** Aborts once: the hooks run first (in registration order), then the signal, if one exists. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    if (reason === undefined) reason = new DOMException('This operation was aborted', 'AbortError');
    this.aborted = true;
    this.reason = reason;
    const hooks = this.hooks;
    this.hooks = null;
    if (typeof hooks === 'function') hooks(reason);
    else if (hooks !== null) for (const h of hooks) h(reason);
    if (this.controller !== null) this.controller.abort(reason);
  }

  listen(hook: AbortHook): void {
    if (this.aborted) return;
    const hooks = this.hooks;
    if (hooks === null) this.hooks = hook;
    else if (typeof hooks === 'function') this.hooks = [hooks, hook];
    else hooks.push(hook);
  }

  unlisten(hook: AbortHook): void {
    const hooks = this.hooks;
    if (hooks === hook) this.hooks = null;
    else if (hooks !== null && typeof hooks !== 'function') {
      const i = hooks.indexOf(hook);
      if (i >= 0) hooks.splice(i, 1);
    }
  }
}
