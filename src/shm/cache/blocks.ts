// The block allocator of bitmap caches: values occupy runs of contiguous data blocks, tracked by
// one bit per block (set = in use). Without bitmap, item i simply owns block i and none of this runs.

import { type CacheViews, Hdr } from './views.js';

/** Blocks a value of vlen bytes occupies. */
export function blocksFor(v: CacheViews, vlen: number): number {
  return v.spec.bitmap ? Math.ceil(vlen / v.spec.blocksize) : 1;
}

/** First fit of `need` free blocks from the cursor, wrapping once. -1 = no such run. */
export function findRun(v: CacheViews, need: number): number {
  const blocks = v.spec.blocks;
  if (need > blocks) return -1;
  const bm = v.bm;
  const cursor = v.h[Hdr.BitmapCursor]! % blocks;
  const scan = (from: number, to: number): number => {
    let run = 0;
    for (let b = from; b < to; b++) {
      const w = bm[b >>> 5]!;
      if (w === -1 && (b & 31) === 0 && b + 32 <= to) {
        run = 0;
        b += 31;
        continue;
      }
      if ((w & (1 << (b & 31))) === 0) {
        if (++run === need) return b - need + 1;
      } else run = 0;
    }
    return -1;
  };
  const r = scan(cursor, blocks);
  return r >= 0 ? r : scan(0, Math.min(blocks, cursor + need - 1));
}

/** Take a run findRun returned: mark it used and move the cursor past it. */
export function claimRun(v: CacheViews, start: number, n: number): void {
  markRun(v, start, n);
  v.h[Hdr.BitmapCursor] = (start + n) % v.spec.blocks;
}

export function markRun(v: CacheViews, start: number, n: number): void {
  for (let i = 0; i < n; i++) v.bm[(start + i) >>> 5]! |= 1 << ((start + i) & 31);
}

export function freeRun(v: CacheViews, start: number, n: number): void {
  for (let i = 0; i < n; i++) v.bm[(start + i) >>> 5]! &= ~(1 << ((start + i) & 31));
}

/** Is every block of the run free? (repair: two items must never claim one block) */
export function runIsFree(v: CacheViews, start: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (v.bm[(start + i) >>> 5]! & (1 << ((start + i) & 31))) return false;
  return true;
}

/** Every block free; the padding bits past the last block count as used so no run reaches them. */
export function resetBitmap(v: CacheViews): void {
  v.bm.fill(0);
  for (let b = v.spec.blocks; b < v.bm.length * 32; b++) v.bm[b >>> 5]! |= 1 << (b & 31);
}
