// Repair after a thread died holding the lock (or left a journal record open): drop the journaled
// item (its bytes may be half-written), then rebuild every derived structure — hash chains, free
// stack, LRU list, bitmap, count, nextExpiry — from the item headers, validating each item
// (lengths, block run, hash, duplicate keys). Runs with the lock held.

import { Scratch } from '../bytes.js';
import { markRun, freeRun, resetBitmap, runIsFree } from './blocks.js';
import { J_CLEAR, J_SLOT, journalEnd } from './journal.js';
import { lruRebuild } from './lru.js';
import { findSlot, linkIntoBucket, resetTable } from './table.js';
import {
  type CacheViews,
  ITEM_I32,
  ITEM_F64,
  H_COUNT,
  H_FREETOP,
  H_JOP,
  H_JSLOT,
  H_REPAIRS,
  I_FLAGS,
  I_KLEN,
  I_HASH,
  I_VLEN,
  I_BLOCK,
  I_NBLK,
  E_EXPIRES,
  F_NEXTEXP,
} from './views.js';

/**
 * Key copies for repair and validation. Not the caller's scratch: repair runs inside lock(), in the
 * middle of a get/set/… whose key bytes are still needed. Synchronous, so one per thread suffices.
 */
const scratch = new Scratch(256);

export function repairTable(v: CacheViews): void {
  const spec = v.spec;
  const h = v.h;
  const it = v.it;
  const op = Atomics.load(h, H_JOP);
  const js = Atomics.load(h, H_JSLOT) - 1;
  if (op === J_CLEAR) {
    resetTable(v);
  } else {
    if (op === J_SLOT && js >= 0 && js < spec.items) it[js * ITEM_I32 + I_FLAGS] = 0;
    v.ht.fill(0);
    if (spec.bitmap) resetBitmap(v);
    let count = 0;
    let nextExp = Infinity;
    const live: number[] = [];
    for (let s = 0; s < spec.items; s++) {
      const o = s * ITEM_I32;
      if (it[o + I_FLAGS] !== 1 || !validItem(v, s)) {
        it[o + I_FLAGS] = 0;
        continue;
      }
      if (spec.bitmap) {
        if (!runIsFree(v, it[o + I_BLOCK]!, it[o + I_NBLK]!)) {
          it[o + I_FLAGS] = 0;
          continue;
        }
        markRun(v, it[o + I_BLOCK]!, it[o + I_NBLK]!);
      }
      // duplicate key? (cannot happen with the journal, but never trust a dead thread)
      const klen = it[o + I_KLEN]!;
      const kb = scratch.ensure(klen);
      kb.set(v.keys8.subarray(s * spec.keysize, s * spec.keysize + klen));
      if (findSlot(v, kb, klen, it[o + I_HASH]!) >= 0) {
        if (spec.bitmap) freeRun(v, it[o + I_BLOCK]!, it[o + I_NBLK]!);
        it[o + I_FLAGS] = 0;
        continue;
      }
      linkIntoBucket(v, s, it[o + I_HASH]!);
      const e = v.ie[s * ITEM_F64 + E_EXPIRES]!;
      if (e !== 0 && e < nextExp) nextExp = e;
      live.push(s);
      count++;
    }
    // free stack: every unused slot
    let top = 0;
    for (let s = spec.items - 1; s >= 0; s--) if (it[s * ITEM_I32 + I_FLAGS] !== 1) v.fs[top++] = s;
    h[H_FREETOP] = top;
    lruRebuild(v, live);
    v.f[F_NEXTEXP] = nextExp;
    Atomics.store(h, H_COUNT, count);
  }
  Atomics.store(h, H_JSLOT, 0);
  journalEnd(v);
  Atomics.add(h, H_REPAIRS, 1);
}

/** Does item s's header hold together: lengths in range, a block run inside the data, the hash of its key? */
export function validItem(v: CacheViews, s: number): boolean {
  const spec = v.spec;
  const o = s * ITEM_I32;
  const it = v.it;
  const klen = it[o + I_KLEN]!;
  const vlen = it[o + I_VLEN]!;
  if (klen < 0 || klen > spec.keysize || vlen < 0 || vlen > v.maxValueBytes) return false;
  if (spec.bitmap) {
    const st = it[o + I_BLOCK]!;
    const n = it[o + I_NBLK]!;
    if (n !== Math.ceil(vlen / spec.blocksize) || st < 0 || st + n > spec.blocks) return false;
  } else if (it[o + I_BLOCK] !== s || it[o + I_NBLK] !== 1) return false;
  const copy = scratch.ensure(klen);
  copy.set(v.keys8.subarray(s * spec.keysize, s * spec.keysize + klen));
  return (v.hashFn(copy, klen) | 0) === it[o + I_HASH];
}
