// User locks 0..N for applications (uWSGI `locks = N`; lock 0 always exists).
//
// lock(n) blocks the thread (Atomics.wait) — fine in request workers. On the main thread use
// lockAsync(n) or withLock(n, async fn), which never block the event loop.
// Every acquisition returns { recovered }: true when the previous owner thread died holding the
// lock (harakiri in the middle of a critical section) — the protected data may be inconsistent.

import { currentCore } from './runtime.js';
import type { LockResult } from '../shm/locks.js';

export type { LockResult, LockInfo } from '../shm/locks.js';

/** Block until lock n is ours. LOCK_ALREADY_HELD if this thread holds it; LOCK_INVALID if n is out of range. */
export function lock(n = 0): LockResult {
  return currentCore().locks.lock(n);
}

/** Release lock n. LOCK_NOT_HELD if this thread does not hold it. */
export function unlock(n = 0): void {
  currentCore().locks.unlock(n);
}

/**
 * Acquire lock n without blocking the event loop. If another async task of this same thread holds
 * it, waits for that task's unlock (so concurrent requests in one worker queue up instead of failing).
 */
export function lockAsync(n = 0): Promise<LockResult> {
  return currentCore().locks.lockAsync(n);
}

/** One attempt; undefined when the lock is held. */
export function tryLock(n = 0): LockResult | undefined {
  return currentCore().locks.tryLock(n);
}

/** Is lock n held by any thread (uWSGI is_locked)? */
export function isLocked(n = 0): boolean {
  return currentCore().locks.isLocked(n);
}

function isAsyncFunction(fn: unknown): boolean {
  return typeof fn === 'function' && fn.constructor?.name === 'AsyncFunction';
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Run fn holding lock n and always release it (also on throw/rejection). fn receives { recovered }.
 * An `async` fn is acquired with lockAsync (never blocks the event loop) and a Promise is returned;
 * a plain fn is acquired blocking and its result returned — if it returns a promise anyway, the lock
 * is held until that settles. Use withLockAsync for a non-async function that returns a promise.
 */
export function withLock<T>(n: number, fn: (info: LockResult) => Promise<T>): Promise<T>;
export function withLock<T>(n: number, fn: (info: LockResult) => T): T;
export function withLock<T>(n: number, fn: (info: LockResult) => T | Promise<T>): T | Promise<T> {
  if (isAsyncFunction(fn)) return withLockAsync(n, fn as (info: LockResult) => Promise<T>);
  const locks = currentCore().locks;
  const info = locks.lock(n);
  let r: T | Promise<T>;
  try {
    r = fn(info);
  } catch (e) {
    locks.unlock(n);
    throw e;
  }
  if (isThenable(r)) {
    return Promise.resolve(r).finally(() => locks.unlock(n));
  }
  locks.unlock(n);
  return r;
}

/** Like withLock, but always acquires with lockAsync and returns a Promise. */
export async function withLockAsync<T>(n: number, fn: (info: LockResult) => T | Promise<T>): Promise<T> {
  const locks = currentCore().locks;
  const info = await locks.lockAsync(n);
  try {
    return await fn(info);
  } finally {
    locks.unlock(n);
  }
}

/** Every lock's state (for stats). */
export function listLocks(): import('../shm/locks.js').LockInfo[] {
  return currentCore().locks.info();
}
