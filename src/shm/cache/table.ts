// The hash table: item slots, their bucket chains and the free stack of unused slots. Finding a
// key, linking a new item, and removing an item (unlinking it from everything that points at it).

import { freeRun, resetBitmap } from './blocks.js';
import { journalSlot, journalEnd } from './journal.js';
import { lruUnlink } from './lru.js';
import { type CacheViews, ItemWords, Hdr, HdrF, Item } from './views.js';

/**
 * Bucket of a hash. djb33x (uWSGI's default) barely mixes its high bits into the low ones, so a
 * power-of-two table of similar keys ("key-000…123") clusters; a murmur3-style finaliser spreads it.
 */
export function bucketOf(hash: number, hashsize: number): number {
  let h = hash | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % hashsize;
}

/** The slot holding key kb[0..klen) (expired or not), or -1. */
export function findSlot(v: CacheViews, kb: Uint8Array, klen: number, hash: number): number {
  const it = v.it;
  const ks = v.spec.keysize;
  const k8 = v.keys8;
  let p = v.ht[bucketOf(hash, v.spec.hashsize)]!;
  let guard = v.spec.items;
  while (p !== 0 && guard-- > 0) {
    const s = p - 1;
    const o = s * ItemWords.I32;
    if (it[o + Item.Hash] === (hash | 0) && it[o + Item.KeyLen] === klen) {
      const ko = s * ks;
      let i = 0;
      while (i < klen && k8[ko + i] === kb[i]) i++;
      if (i === klen) return s;
    }
    p = it[o + Item.HashNext]!;
  }
  return -1;
}

/** Link slot s at the head of the chain of its hash's bucket. */
export function linkIntoBucket(v: CacheViews, s: number, hash: number): void {
  const it = v.it;
  const o = s * ItemWords.I32;
  const b = bucketOf(hash, v.spec.hashsize);
  const head = v.ht[b]!;
  it[o + Item.HashNext] = head;
  it[o + Item.HashPrev] = 0;
  if (head !== 0) it[(head - 1) * ItemWords.I32 + Item.HashPrev] = s + 1;
  v.ht[b] = s + 1;
}

/** Pop an unused slot off the free stack, journaled (the caller closes the record); one is left. */
export function takeFreeSlot(v: CacheViews): number {
  const top = v.h[Hdr.FreeTop]! - 1;
  const s = v.fs[top]!;
  journalSlot(v, s);
  v.h[Hdr.FreeTop] = top;
  return s;
}

/** Unlink and free slot s (journaled). */
export function removeSlot(v: CacheViews, s: number): void {
  const h = v.h;
  const it = v.it;
  const o = s * ItemWords.I32;
  journalSlot(v, s);
  it[o + Item.Flags] = 0;
  const next = it[o + Item.HashNext]!;
  const prev = it[o + Item.HashPrev]!;
  if (prev !== 0) it[(prev - 1) * ItemWords.I32 + Item.HashNext] = next;
  else v.ht[bucketOf(it[o + Item.Hash]!, v.spec.hashsize)] = next;
  if (next !== 0) it[(next - 1) * ItemWords.I32 + Item.HashPrev] = prev;
  if (v.spec.purgeLru) lruUnlink(v, s);
  if (v.spec.bitmap) freeRun(v, it[o + Item.Block]!, it[o + Item.Blocks]!);
  it[o + Item.HashNext] = 0;
  it[o + Item.HashPrev] = 0;
  v.fs[h[Hdr.FreeTop]!] = s;
  h[Hdr.FreeTop] = h[Hdr.FreeTop]! + 1;
  h[Hdr.Count] = h[Hdr.Count]! - 1;
  journalEnd(v);
}

/** Empty every structure (initialise, clear, an interrupted clear). */
export function resetTable(v: CacheViews): void {
  const spec = v.spec;
  const it = v.it;
  for (let s = 0; s < spec.items; s++) it[s * ItemWords.I32 + Item.Flags] = 0;
  v.ht.fill(0);
  for (let i = 0; i < spec.items; i++) v.fs[i] = spec.items - 1 - i;
  v.h[Hdr.FreeTop] = spec.items;
  v.h[Hdr.LruHead] = 0;
  v.h[Hdr.LruTail] = 0;
  v.h[Hdr.BitmapCursor] = 0;
  if (spec.bitmap) resetBitmap(v);
  v.f[HdrF.NextExpiry] = Infinity;
  Atomics.store(v.h, Hdr.Count, 0);
}
