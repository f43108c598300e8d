// Repair after a thread died holding the lock (or left a journal record open): drop the journaled
// item (its bytes may be half-written), then rebuild every derived structure — hash chains, free
// stack, LRU list, bitmap, count, nextExpiry — from the item headers, validating each item
// (lengths, block run, hash, duplicate keys). Runs with the lock held.

import { Scratch } from '../bytes.js';
import { markRun, freeRun, resetBitmap, runIsFree } from './blocks.js';
import { Journal, journalEnd } from './journal.js';
import { lruRebuild } from './lru.js';
import { findSlot, linkIntoBucket, resetTable } from './table.js';
import { type CacheViews, ItemWords, Hdr, Item, ItemF, HdrF } from './views.js';

/**
 * Key copies for repair and validation. Not the caller's scratch: repair runs inside lock(), in the
 * middle of a get/set/… whose key bytes are still needed. Synchronous, so one per thread suffices.
 */
const scratch = new Scratch(256);

export function repairTable(v: CacheViews): void {
  const spec = v.spec;
  const h = v.h;
  const it = v.it;
  const op = Atomics.load(h, Hdr.JournalOp);
  const js = Atomics.load(h, Hdr.JournalSlot) - 1;
  if (op === Journal.Clear) {
    resetTable(v);
  } else {
    if (op === Journal.Slot && js >= 0 && js < spec.items) it[js * ItemWords.I32 + Item.Flags] = 0;
    v.ht.fill(0);
    if (spec.bitmap) resetBitmap(v);
    let count = 0;
    let nextExp = Infinity;
    const live: number[] = [];
    for (let s = 0; s < spec.items; s++) {
      const o = s * ItemWords.I32;
      if (it[o + Item.Flags] !== 1 || !validItem(v, s)) {
        it[o + Item.Flags] = 0;
        continue;
      }
      if (spec.bitmap) {
        if (!runIsFree(v, it[o + Item.Block]!, it[o + Item.Blocks]!)) {
          it[o + Item.Flags] = 0;
          continue;
        }
        markRun(v, it[o + Item.Block]!, it[o + Item.Blocks]!);
      }
      // duplicate key? (cannot happen with the journal, but never trust a dead thread)
      const klen = it[o + Item.KeyLen]!;
      const kb = scratch.ensure(klen);
      kb.set(v.keys8.subarray(s * spec.keysize, s * spec.keysize + klen));
      if (findSlot(v, kb, klen, it[o + Item.Hash]!) >= 0) {
        if (spec.bitmap) freeRun(v, it[o + Item.Block]!, it[o + Item.Blocks]!);
        it[o + Item.Flags] = 0;
        continue;
      }
      linkIntoBucket(v, s, it[o + Item.Hash]!);
      const e = v.ie[s * ItemWords.F64 + ItemF.Expires]!;
      if (e !== 0 && e < nextExp) nextExp = e;
      live.push(s);
      count++;
    }
    // free stack: every unused slot
    let top = 0;
    for (let s = spec.items - 1; s >= 0; s--) if (it[s * ItemWords.I32 + Item.Flags] !== 1) v.fs[top++] = s;
    h[Hdr.FreeTop] = top;
    lruRebuild(v, live);
    v.f[HdrF.NextExpiry] = nextExp;
    Atomics.store(h, Hdr.Count, count);
  }
  Atomics.store(h, Hdr.JournalSlot, 0);
  journalEnd(v);
  Atomics.add(h, Hdr.Repairs, 1);
}

/** Does item s's header hold together: lengths in range, a block run inside the data, the hash of its key? */
export function validItem(v: CacheViews, s: number): boolean {
  const spec = v.spec;
  const o = s * ItemWords.I32;
  const it = v.it;
  const klen = it[o + Item.KeyLen]!;
  const vlen = it[o + Item.ValueLen]!;
  if (klen < 0 || klen > spec.keysize || vlen < 0 || vlen > v.maxValueBytes) return false;
  if (spec.bitmap) {
    const st = it[o + Item.Block]!;
    const n = it[o + Item.Blocks]!;
    if (n !== Math.ceil(vlen / spec.blocksize) || st < 0 || st + n > spec.blocks) return false;
  } else if (it[o + Item.Block] !== s || it[o + Item.Blocks] !== 1) return false;
  const copy = scratch.ensure(klen);
  copy.set(v.keys8.subarray(s * spec.keysize, s * spec.keysize + klen));
  return (v.hashFn(copy, klen) | 0) === it[o + Item.Hash];
}
