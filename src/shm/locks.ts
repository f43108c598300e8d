// User locks 0..N (uWSGI `locks = N`), robust: a lock whose owner thread died is released by
// `recoverOwner` (the master's onThreadExit) and its next owner gets `{ recovered: true }`.
//
// Owner = the calling thread. A thread that already holds lock n and calls lock(n) gets
// LOCK_ALREADY_HELD (it would deadlock); unlock(n) by a thread that does not hold it gets
// LOCK_NOT_HELD. lockAsync(n) never blocks the event loop; if the calling thread itself holds the
// lock (another async task of the same thread), it waits for that task to unlock it — this is what
// lets several concurrent requests in one worker use withLock(n, async fn) safely.

import { SpindleError } from '../errors.js';
import {
  MUTEX_WORDS,
  mutexLock,
  mutexLockAsync,
  mutexOwner,
  mutexTryLock,
  mutexUnlock,
  recoverMutex,
} from './mutex.js';

export interface LockResult {
  /** true when the previous owner died holding the lock: the data it protects may be half-written. */
  recovered: boolean;
}

export interface LockInfo {
  id: number;
  locked: boolean;
  /** thread id of the current owner, or -1 */
  owner: number;
  /** thread id of the last thread that acquired it, or -1 */
  lastOwner: number;
  recoveries: number;
}

export const lockRegionBytes = (locks: number): number => (locks + 1) * MUTEX_WORDS * 4;

export class UserLocks {
  readonly max: number;
  private readonly i32: Int32Array;
  private readonly me: number;

  constructor(sab: SharedArrayBuffer, offset: number, locks: number, ownerId: number) {
    this.max = locks;
    this.i32 = new Int32Array(sab, offset, (locks + 1) * MUTEX_WORDS);
    this.me = ownerId;
  }

  private at(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n > this.max) {
      throw new SpindleError(
        'LOCK_INVALID',
        `lock ${String(n)} does not exist: valid locks are 0..${this.max} (set locks = N in the config for 0..N)`,
      );
    }
    return n * MUTEX_WORDS;
  }

  lock(n = 0): LockResult {
    const at = this.at(n);
    if (mutexOwner(this.i32, at) === this.me) {
      throw new SpindleError('LOCK_ALREADY_HELD', `lock ${n} is already held by this thread; unlock it first (locks are not re-entrant)`);
    }
    return { recovered: mutexLock(this.i32, at, this.me) };
  }

  /** Acquire without blocking the event loop. */
  async lockAsync(n = 0): Promise<LockResult> {
    const at = this.at(n);
    return { recovered: await mutexLockAsync(this.i32, at, this.me) };
  }

  /** One attempt; undefined if another thread (or this one) holds it. */
  tryLock(n = 0): LockResult | undefined {
    const at = this.at(n);
    if (!mutexTryLock(this.i32, at, this.me)) return undefined;
    return { recovered: Atomics.exchange(this.i32, at + 1, 0) === 1 };
  }

  unlock(n = 0): void {
    const at = this.at(n);
    if (!mutexUnlock(this.i32, at, this.me)) {
      const owner = mutexOwner(this.i32, at);
      throw new SpindleError(
        'LOCK_NOT_HELD',
        `lock ${n} is not held by this thread (${owner === 0 ? 'it is free' : `thread ${owner - 1} holds it`})`,
      );
    }
  }

  isLocked(n = 0): boolean {
    return mutexOwner(this.i32, this.at(n)) !== 0;
  }

  heldByMe(n = 0): boolean {
    return mutexOwner(this.i32, this.at(n)) === this.me;
  }

  /** Release every lock held by a dead thread (ownerId = threadId + 1). Returns the lock numbers. */
  recoverOwner(deadOwner: number): number[] {
    const out: number[] = [];
    for (let n = 0; n <= this.max; n++) if (recoverMutex(this.i32, n * MUTEX_WORDS, deadOwner)) out.push(n);
    return out;
  }

  info(): LockInfo[] {
    const out: LockInfo[] = [];
    for (let n = 0; n <= this.max; n++) {
      const at = n * MUTEX_WORDS;
      const owner = mutexOwner(this.i32, at);
      const last = Atomics.load(this.i32, at + 2);
      out.push({ id: n, locked: owner !== 0, owner: owner - 1, lastOwner: last - 1, recoveries: Atomics.load(this.i32, at + 3) });
    }
    return out;
  }
}
