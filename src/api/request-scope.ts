// Which request the running code belongs to, for setHarakiri(): the synchronous run of a handler,
// and what follows it asynchronously.
//
// Where AsyncLocalStorage runs on async context frames (Node 24 and later, by default) it costs
// next to nothing and follows every kind of continuation: it is used there. Where it runs on
// async_hooks (Node 20 and 22), enabling it runs a JavaScript hook for every async resource the
// thread creates (each nextTick, timer and write), about 5 % of a small request. There the request
// is followed through promises only, with V8's promise hooks: across `await` and `.then()`, which
// is where an app calls setHarakiri() after doing I/O, but not into timer or event callbacks.
import { AsyncLocalStorage } from 'node:async_hooks';
import { promiseHooks } from 'node:v8';

/** Runs `fn(a, b, c)` as part of request `id`; returns what it returns. (Fixed arity: no rest array per request.) */
export let runInRequest: <A, B, C, R>(id: number, fn: (a: A, b: B, c: C) => R, a: A, b: B, c: C) => R;
/** The id of the request the calling code belongs to; undefined outside any. */
export let currentRequest: () => number | undefined;

// The async_hooks implementation has these own properties; the context-frame one has none.
if ('kResourceStore' in new AsyncLocalStorage()) followPromises();
else useAsyncLocalStorage();

function useAsyncLocalStorage(): void {
  const storage = new AsyncLocalStorage<number>();
  // enterWith, not run(): run() makes a second context frame to restore the outer one (about 1.5 %
  // of a small request's instructions). Not restoring is safe here: the frame only outlasts the
  // handler until the end of the node:http callback that called it, where no app code runs, and
  // the next request enters its own frame first.
  runInRequest = (id, fn, a, b, c) => {
    storage.enterWith(id);
    return fn(a, b, c);
  };
  currentRequest = () => storage.getStore();
}

function followPromises(): void {
  const kRequest = Symbol('spindle.request');
  type Tagged = Promise<unknown> & { [kRequest]?: number };
  let current: number | undefined;
  /** What a reaction interrupted: only a synchronous run, were microtasks ever run inside one. */
  let interrupted: number | undefined;
  let hooked = false;
  runInRequest = (id, fn, a, b, c) => {
    if (!hooked) {
      hooked = true;
      promiseHooks.createHook({
        // A promise made while a request runs carries it; its reactions (an await resuming, a
        // then callback) run as part of it.
        init: (promise) => { if (current !== undefined) (promise as Tagged)[kRequest] = current; },
        before: (promise) => { interrupted = current; current = (promise as Tagged)[kRequest]; },
        after: () => { current = interrupted; interrupted = undefined; },
      });
    }
    const outer = current;
    current = id;
    try {
      return fn(a, b, c);
    } finally {
      current = outer;
    }
  };
  currentRequest = () => current;
}
