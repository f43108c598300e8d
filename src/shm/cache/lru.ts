// The least-recently-used list (purge_lru caches only): a doubly linked list through the item
// headers, oldest at the head. Each item also carries a stamp from a shared counter, so repair can
// rebuild the order after a torn relink.

import { journalOp, journalOpen, journalEnd, Journal } from './journal.js';
import { type CacheViews, ItemWords, Hdr, Item, ItemF, HdrF } from './views.js';

/** Give item s the newest stamp. */
export function stamp(v: CacheViews, s: number): void {
  v.ie[s * ItemWords.F64 + ItemF.Stamp] = ++v.f[HdrF.Stamp]!;
}

/** Link s at the most-recent end. */
export function lruAppend(v: CacheViews, s: number): void {
  const it = v.it;
  const tail = v.h[Hdr.LruTail]!;
  it[s * ItemWords.I32 + Item.LruPrev] = tail;
  it[s * ItemWords.I32 + Item.LruNext] = 0;
  if (tail !== 0) it[(tail - 1) * ItemWords.I32 + Item.LruNext] = s + 1;
  else v.h[Hdr.LruHead] = s + 1;
  v.h[Hdr.LruTail] = s + 1;
}

export function lruUnlink(v: CacheViews, s: number): void {
  const it = v.it;
  const o = s * ItemWords.I32;
  const n = it[o + Item.LruNext]!;
  const p = it[o + Item.LruPrev]!;
  if (p !== 0) it[(p - 1) * ItemWords.I32 + Item.LruNext] = n;
  else v.h[Hdr.LruHead] = n;
  if (n !== 0) it[(n - 1) * ItemWords.I32 + Item.LruPrev] = p;
  else v.h[Hdr.LruTail] = p;
  it[o + Item.LruNext] = 0;
  it[o + Item.LruPrev] = 0;
}

/**
 * Move to the most-recent end. Only relinks: a torn relink is rebuilt from stamps on repair.
 * Inside an open Journal.Slot record (overwrite, math) that record stays: ending it here would let a
 * death later in the same operation go unjournaled.
 */
export function touch(v: CacheViews, s: number): void {
  stamp(v, s);
  if (v.h[Hdr.LruTail] === s + 1) return;
  const outer = journalOpen(v);
  if (!outer) journalOp(v, Journal.Lru);
  lruUnlink(v, s);
  lruAppend(v, s);
  if (!outer) journalEnd(v);
}

/** The least recently used item other than `protect`, as slot+1; 0 = none. */
export function lruOldest(v: CacheViews, protect: number): number {
  const p = v.h[Hdr.LruHead]!;
  return p !== 0 && p - 1 === protect ? v.it[(p - 1) * ItemWords.I32 + Item.LruNext]! : p;
}

/** Rebuild the list from the stamps of the live items (repair). */
export function lruRebuild(v: CacheViews, live: number[]): void {
  v.h[Hdr.LruHead] = 0;
  v.h[Hdr.LruTail] = 0;
  if (!v.spec.purgeLru) return;
  live.sort((a, b) => v.ie[a * ItemWords.F64 + ItemF.Stamp]! - v.ie[b * ItemWords.F64 + ItemF.Stamp]!);
  for (const s of live) lruAppend(v, s);
}
