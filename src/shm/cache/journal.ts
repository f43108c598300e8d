// The journal that makes a thread's death mid-operation repairable. Every mutation of an item is
// bracketed by a record (journalOp, journalSlot = the item); repair.ts reads a record left behind.
// Item headers are the source of truth, everything else is derived and rebuilt by repair.

import { type CacheViews, H_JOP, H_JSLOT } from './views.js';

export const J_NONE = 0;
/** Item `journalSlot` is being changed: repair drops it (its bytes may be half-written). */
export const J_SLOT = 1;
/** clear() in progress: repair finishes it. */
export const J_CLEAR = 2;
/** LRU relink only: repair rebuilds the list, drops nothing. */
export const J_LRU = 11;

/** Open a record for item s. */
export function journalSlot(v: CacheViews, s: number): void {
  Atomics.store(v.h, H_JSLOT, s + 1);
  Atomics.store(v.h, H_JOP, J_SLOT);
}

/** Open a record with no item (J_CLEAR, J_LRU). */
export function journalOp(v: CacheViews, op: number): void {
  Atomics.store(v.h, H_JOP, op);
}

/** Close the open record: the operation finished. */
export function journalEnd(v: CacheViews): void {
  Atomics.store(v.h, H_JOP, J_NONE);
}

/** Is a record open (an operation in progress, or one a dead thread left behind)? */
export function journalOpen(v: CacheViews): boolean {
  return Atomics.load(v.h, H_JOP) !== J_NONE;
}
