// The piscina task of the offload pool: rebuild a self-contained function from its source, or
// import a module export, and call it. The shared core is attached so counters, caches and locks
// work inside offloaded code too.
import { workerData } from 'node:worker_threads';
import { installSharedCore } from '../api/runtime.js';
import type { SharedCoreHandle } from '../shm/layout.js';
import type { OffloadTask } from '../protocol/background.js';
import { SpindleError } from '../errors.js';

type AnyFn = (...args: unknown[]) => unknown;

const data = workerData as { shared?: SharedCoreHandle } | undefined;
if (data?.shared) installSharedCore(data.shared);

const compiled = new Map<string, AnyFn>();

function compile(src: string): AnyFn {
  let fn = compiled.get(src);
  if (fn) return fn;
  let made: unknown;
  try {
    made = new Function(`"use strict"; return (${src});`)();
  } catch (err) {
    throw new SpindleError('OFFLOAD_FAILED', `offload: cannot rebuild the function from its source (${(err as Error).message}); pass a self-contained function expression (function () {} or () => {}) or {module, export}`);
  }
  if (typeof made !== 'function') throw new SpindleError('OFFLOAD_FAILED', 'offload: the source did not evaluate to a function');
  fn = made as AnyFn;
  if (compiled.size > 256) compiled.clear();
  compiled.set(src, fn);
  return fn;
}

export default async function run({ task, args }: { task: OffloadTask; args: unknown[] }): Promise<unknown> {
  if ('src' in task) return await compile(task.src)(...args);
  const ns = (await import(task.module)) as Record<string, unknown>;
  const fn = ns[task.export];
  if (typeof fn !== 'function') throw new SpindleError('OFFLOAD_FAILED', `offload: ${task.module} has no function export '${task.export}'`);
  return await (fn as AnyFn)(...args);
}
