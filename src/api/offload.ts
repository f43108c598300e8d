// offload(): CPU-heavy work from a handler, run on the master's piscina pool (offload-threads)
// without blocking the worker, with a per-task timeout (the pool thread is terminated).
//
// Functions cannot travel between threads. Two forms are accepted:
//   offload(fn, ...args)                      fn is rebuilt in the pool from fn.toString(): it must
//                                             be SELF-CONTAINED (no closure variables, no imports
//                                             from the enclosing module; use `await import()`
//                                             inside it if needed). Arguments and the result are
//                                             structured-cloned.
//   offload({ module, export }, ...args)      module: absolute path, file: URL, or a path relative
//                                             to the calling file; export: name (default 'default').
// The options form `{ fn | module, export, timeout }` sets the timeout in ms (default: the
// server's harakiri; 0 = none). Outside Spindle the function runs in-process (no timeout).
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SpindleError, SpindleTypeError, SpindleRangeError } from '../errors.js';
import { callMaster, callSite, hasMaster } from './bg-thread.js';
import type { OffloadTask } from '../protocol/background.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...args: any[]) => unknown;

export type OffloadSpec =
  | AnyFn
  | { fn: AnyFn; timeout?: number }
  | { module: string | URL; export?: string; timeout?: number };

export function offload<T = unknown>(spec: OffloadSpec, ...args: unknown[]): Promise<T> {
  let task: OffloadTask;
  let timeoutMs = -1; // the server's default
  let local: () => Promise<unknown>;
  if (typeof spec === 'function' || (spec && typeof spec === 'object' && 'fn' in spec)) {
    const fn = typeof spec === 'function' ? spec : spec.fn;
    if (typeof fn !== 'function') return Promise.reject(new SpindleTypeError('INVALID_ARGUMENT', 'offload(): fn must be a function'));
    if (typeof spec === 'object' && spec.timeout !== undefined) timeoutMs = spec.timeout;
    const src = Function.prototype.toString.call(fn);
    if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) {
      return Promise.reject(new SpindleTypeError('INVALID_ARGUMENT', 'offload(): a native or bound function has no source to send; use {module, export}'));
    }
    task = { src };
    local = async () => fn(...args);
  } else if (spec && typeof spec === 'object' && 'module' in spec) {
    let mod = spec.module instanceof URL ? spec.module.href : String(spec.module);
    if (!mod.startsWith('file:') && !isAbsolute(mod)) {
      const { file } = callSite();
      mod = resolve(file ? dirname(file) : process.cwd(), mod);
    }
    if (!mod.startsWith('file:')) mod = pathToFileURL(mod).href;
    if (spec.timeout !== undefined) timeoutMs = spec.timeout;
    task = { module: mod, export: spec.export ?? 'default' };
    const exp = task.export;
    local = async () => {
      const ns = (await import(mod)) as Record<string, unknown>;
      const f = ns[exp];
      if (typeof f !== 'function') throw new SpindleError('OFFLOAD_FAILED', `offload(): ${fileURLToPath(mod)} has no function export '${exp}'`);
      return (f as AnyFn)(...args);
    };
  } else {
    return Promise.reject(new SpindleTypeError('INVALID_ARGUMENT', 'offload(): expected a function, {fn, timeout} or {module, export, timeout}'));
  }
  if (!(typeof timeoutMs === 'number' && (timeoutMs === -1 || timeoutMs >= 0))) {
    return Promise.reject(new SpindleRangeError('INVALID_ARGUMENT', `offload(): timeout must be ≥ 0 ms (got ${String(timeoutMs)})`));
  }
  if (!hasMaster()) return local() as Promise<T>;
  return callMaster<T>((callId) => ({ op: 'offload', callId, task, args, timeoutMs }));
}
