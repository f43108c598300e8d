// The journal that makes a thread's death mid-operation repairable. Every mutation of an item is
// bracketed by a record (journalOp, journalSlot = the item); repair.ts reads a record left behind.
// Item headers are the source of truth, everything else is derived and rebuilt by repair.

import { type CacheViews, Hdr } from './views.js';

/** The operation a record describes (const enum: see views.ts). */
export const enum Journal {
  None = 0,
  /** Item `journalSlot` is being changed: repair drops it (its bytes may be half-written). */
  Slot = 1,
  /** clear() in progress: repair finishes it. */
  Clear = 2,
  /** LRU relink only: repair rebuilds the list, drops nothing. */
  Lru = 11,
}

/** Open a record for item s. */
export function journalSlot(v: CacheViews, s: number): void {
  Atomics.store(v.h, Hdr.JournalSlot, s + 1);
  Atomics.store(v.h, Hdr.JournalOp, Journal.Slot);
}

/** Open a record with no item (Journal.Clear, Journal.Lru). */
export function journalOp(v: CacheViews, op: Journal): void {
  Atomics.store(v.h, Hdr.JournalOp, op);
}

/** Close the open record: the operation finished. */
export function journalEnd(v: CacheViews): void {
  Atomics.store(v.h, Hdr.JournalOp, Journal.None);
}

/** Is a record open (an operation in progress, or one a dead thread left behind)? */
export function journalOpen(v: CacheViews): boolean {
  return Atomics.load(v.h, Hdr.JournalOp) !== Journal.None;
}
