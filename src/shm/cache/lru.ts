// The least-recently-used list (purge_lru caches only): a doubly linked list through the item
// headers, oldest at the head. Each item also carries a stamp from a shared counter, so repair can
// rebuild the order after a torn relink.

import { journalOp, journalOpen, journalEnd, J_LRU } from './journal.js';
import { type CacheViews, ITEM_I32, ITEM_F64, H_LRUHEAD, H_LRUTAIL, I_LNEXT, I_LPREV, E_STAMP, F_STAMP } from './views.js';

/** Give item s the newest stamp. */
export function stamp(v: CacheViews, s: number): void {
  v.ie[s * ITEM_F64 + E_STAMP] = ++v.f[F_STAMP]!;
}

/** Link s at the most-recent end. */
export function lruAppend(v: CacheViews, s: number): void {
  const it = v.it;
  const tail = v.h[H_LRUTAIL]!;
  it[s * ITEM_I32 + I_LPREV] = tail;
  it[s * ITEM_I32 + I_LNEXT] = 0;
  if (tail !== 0) it[(tail - 1) * ITEM_I32 + I_LNEXT] = s + 1;
  else v.h[H_LRUHEAD] = s + 1;
  v.h[H_LRUTAIL] = s + 1;
}

export function lruUnlink(v: CacheViews, s: number): void {
  const it = v.it;
  const o = s * ITEM_I32;
  const n = it[o + I_LNEXT]!;
  const p = it[o + I_LPREV]!;
  if (p !== 0) it[(p - 1) * ITEM_I32 + I_LNEXT] = n;
  else v.h[H_LRUHEAD] = n;
  if (n !== 0) it[(n - 1) * ITEM_I32 + I_LPREV] = p;
  else v.h[H_LRUTAIL] = p;
  it[o + I_LNEXT] = 0;
  it[o + I_LPREV] = 0;
}

/**
 * Move to the most-recent end. Only relinks: a torn relink is rebuilt from stamps on repair.
 * Inside an open J_SLOT record (overwrite, math) that record stays: ending it here would let a
 * death later in the same operation go unjournaled.
 */
export function touch(v: CacheViews, s: number): void {
  stamp(v, s);
  if (v.h[H_LRUTAIL] === s + 1) return;
  const outer = journalOpen(v);
  if (!outer) journalOp(v, J_LRU);
  lruUnlink(v, s);
  lruAppend(v, s);
  if (!outer) journalEnd(v);
}

/** The least recently used item other than `protect`, as slot+1; 0 = none. */
export function lruOldest(v: CacheViews, protect: number): number {
  const p = v.h[H_LRUHEAD]!;
  return p !== 0 && p - 1 === protect ? v.it[(p - 1) * ITEM_I32 + I_LNEXT]! : p;
}

/** Rebuild the list from the stamps of the live items (repair). */
export function lruRebuild(v: CacheViews, live: number[]): void {
  v.h[H_LRUHEAD] = 0;
  v.h[H_LRUTAIL] = 0;
  if (!v.spec.purgeLru) return;
  live.sort((a, b) => v.ie[a * ITEM_F64 + E_STAMP]! - v.ie[b * ITEM_F64 + E_STAMP]!);
  for (const s of live) lruAppend(v, s);
}
