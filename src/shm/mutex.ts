// A robust, owner-tracking mutex on one Int32 word of a SharedArrayBuffer.
//
// Record layout (MUTEX_WORDS consecutive Int32 slots starting at `at`):
//   [at+0] word      0 = free; otherwise (ownerId | WAITERS?) where ownerId = threadId + 1
//   [at+1] dirty     1 = the previous owner died while holding the lock (robust-mutex EOWNERDEAD)
//   [at+2] lastOwner ownerId of the last thread that acquired it (stats, like uWSGI's lock pid)
//   [at+3] recovered how many times the lock was recovered from a dead owner
//
// The owner is encoded in the lock word itself, so acquisition is ONE compare-and-swap: a thread
// terminated at any instruction either owns the lock (word carries its id) or does not. There is
// never a "locked but owner unknown" state. Recovery: `recoverMutex(i32, at, ownerId)` (called from
// the master's onThreadExit) sets `dirty` and then releases the word; the next acquirer consumes
// `dirty` and learns that the protected data may be inconsistent.
//
// Waiting follows Drepper's "futexes are tricky" mutex #2: a waiter sets the WAITERS bit and
// Atomics.wait()s on the exact word value; unlock exchanges the word with 0 and notifies one waiter
// if the bit was set. Plain TypeScript, no node: imports.

export const MUTEX_WORDS = 4;
const WAITERS = 0x40000000;
const OWNER_MASK = 0x3fffffff;
const SPINS = 64;
/** Sync waiters re-check every WAIT_SLICE_MS, so a lost wake-up can only ever cost that long. */
const WAIT_SLICE_MS = 50;

export function ownerIdOf(threadId: number): number {
  const id = threadId + 1;
  if (!Number.isInteger(threadId) || threadId < 0 || id > OWNER_MASK) { // Node's thread ids: a bug if this fails
    throw new RangeError(`thread id ${threadId} cannot be used as a lock owner (0..${OWNER_MASK - 1})`);
  }
  return id;
}

/** One CAS. Returns true when the lock was free and is now owned by `me`. */
export function mutexTryLock(i32: Int32Array, at: number, me: number): boolean {
  if (Atomics.compareExchange(i32, at, 0, me) === 0) {
    i32[at + 2] = me;
    return true;
  }
  return false;
}

/** Blocking acquire (Atomics.wait). Returns true when the previous owner died (data suspect). */
export function mutexLock(i32: Int32Array, at: number, me: number): boolean {
  let c = Atomics.compareExchange(i32, at, 0, me);
  if (c !== 0) {
    for (let i = 0; i < SPINS && c !== 0; i++) {
      c = Atomics.load(i32, at);
      if (c === 0) c = Atomics.compareExchange(i32, at, 0, me);
    }
    while (c !== 0) {
      if ((c & WAITERS) === 0) {
        const prev = Atomics.compareExchange(i32, at, c, c | WAITERS);
        if (prev !== c) {
          c = prev === 0 ? Atomics.compareExchange(i32, at, 0, me | WAITERS) : prev;
          continue;
        }
        c |= WAITERS;
      }
      Atomics.wait(i32, at, c, WAIT_SLICE_MS);
      // We cannot know whether other waiters remain, so acquire with the WAITERS bit set.
      c = Atomics.compareExchange(i32, at, 0, me | WAITERS);
    }
  }
  i32[at + 2] = me;
  return Atomics.load(i32, at + 1) === 1 && Atomics.exchange(i32, at + 1, 0) === 1;
}

/** Non-blocking acquire for the event-loop thread (Atomics.waitAsync). Resolves to "recovered". */
export async function mutexLockAsync(i32: Int32Array, at: number, me: number): Promise<boolean> {
  let c = Atomics.compareExchange(i32, at, 0, me);
  while (c !== 0) {
    if ((c & WAITERS) === 0) {
      const prev = Atomics.compareExchange(i32, at, c, c | WAITERS);
      if (prev !== c) {
        c = prev === 0 ? Atomics.compareExchange(i32, at, 0, me | WAITERS) : prev;
        continue;
      }
      c |= WAITERS;
    }
    const r = Atomics.waitAsync(i32, at, c, WAIT_SLICE_MS * 4);
    if (r.async) await r.value;
    c = Atomics.compareExchange(i32, at, 0, me | WAITERS);
  }
  i32[at + 2] = me;
  return Atomics.exchange(i32, at + 1, 0) === 1;
}

/** Release. Returns false (and changes nothing) if `me` is not the owner. */
export function mutexUnlock(i32: Int32Array, at: number, me: number): boolean {
  const c = Atomics.load(i32, at);
  if ((c & OWNER_MASK) !== me) return false;
  const old = Atomics.exchange(i32, at, 0);
  if ((old & WAITERS) !== 0) Atomics.notify(i32, at, 1);
  return true;
}

export function mutexOwner(i32: Int32Array, at: number): number {
  return Atomics.load(i32, at) & OWNER_MASK;
}

/**
 * If the lock is held by `deadOwner`, mark it dirty and release it, waking every waiter.
 * Returns true if it was recovered. Safe to call for a thread that held nothing.
 */
export function recoverMutex(i32: Int32Array, at: number, deadOwner: number): boolean {
  for (;;) {
    const c = Atomics.load(i32, at);
    if ((c & OWNER_MASK) !== deadOwner) return false;
    // dirty first, then release: whoever acquires next is guaranteed to see the flag.
    Atomics.store(i32, at + 1, 1);
    if (Atomics.compareExchange(i32, at, c, 0) === c) {
      Atomics.add(i32, at + 3, 1);
      Atomics.notify(i32, at);
      return true;
    }
    // The WAITERS bit changed under us; retry.
  }
}
