// Writing an item: insert into a free slot or overwrite in place, each bracketed by a journal
// record, making room (eviction.ts) when the cache is full. An item's `used` flag is set last on
// insert, so a half-written item is never live.

import { SpindleError } from '../../errors.js';
import { blocksFor, claimRun, findRun, freeRun } from './blocks.js';
import { makeRoom } from './eviction.js';
import { setExpiry } from './expiry.js';
import { journalSlot, journalEnd } from './journal.js';
import { lruAppend, stamp, touch } from './lru.js';
import { linkIntoBucket, takeFreeSlot } from './table.js';
import { type CacheViews, ItemWords, Hdr, Item } from './views.js';

/**
 * Store a new item: key kb[0..klen) with hash, value vb[0..vlen), expires (0 = never). Returns
 * false for a full cache with ignore_full; throws CACHE_FULL for a full cache without it.
 */
export function insertItem(
  v: CacheViews, kb: Uint8Array, klen: number, hash: number, vb: Uint8Array, vlen: number, expires: number, now: number,
): boolean {
  const need = blocksFor(v, vlen);
  if (Atomics.load(v.h, Hdr.FreeTop) === 0 && !makeRoom(v, now, () => Atomics.load(v.h, Hdr.FreeTop) > 0)) {
    return fullFailure(v, 'a free item slot', vlen);
  }
  let start = -1;
  if (v.spec.bitmap) {
    start = allocRun(v, need, -1, now);
    if (start < 0) return fullFailure(v, `a run of ${need} free blocks`, vlen);
    // making room for blocks only ever frees slots, so the free stack is still non-empty
  }
  const h = v.h;
  const it = v.it;
  const s = takeFreeSlot(v);
  const o = s * ItemWords.I32;
  if (!v.spec.bitmap) start = s;
  v.keys8.set(kb.subarray(0, klen), s * v.spec.keysize);
  v.data8.set(vlen === vb.length ? vb : vb.subarray(0, vlen), start * v.spec.blocksize);
  it[o + Item.KeyLen] = klen;
  it[o + Item.Hash] = hash | 0;
  it[o + Item.ValueLen] = vlen;
  it[o + Item.Block] = start;
  it[o + Item.Blocks] = v.spec.bitmap ? need : 1;
  setExpiry(v, s, expires);
  stamp(v, s);
  linkIntoBucket(v, s, hash);
  if (v.spec.purgeLru) lruAppend(v, s);
  it[o + Item.Flags] = 1;
  h[Hdr.Count] = h[Hdr.Count]! + 1;
  journalEnd(v);
  return true;
}

/** Replace the value of item s; expires -1 keeps its expiry. Returns/throws like insertItem when full. */
export function overwriteItem(v: CacheViews, s: number, vb: Uint8Array, vlen: number, expires: number, now: number): boolean {
  const o = s * ItemWords.I32;
  const it = v.it;
  if (v.spec.bitmap) {
    const need = blocksFor(v, vlen);
    const have = it[o + Item.Blocks]!;
    if (need > have) {
      // allocate a new run before giving up the old one; the item is protected from eviction
      if (v.spec.purgeLru) touch(v, s);
      const start = allocRun(v, need, s, now);
      if (start < 0) return fullFailure(v, `a run of ${need} free blocks`, vlen);
      journalSlot(v, s);
      freeRun(v, it[o + Item.Block]!, have);
      it[o + Item.Block] = start;
      it[o + Item.Blocks] = need;
    } else {
      journalSlot(v, s);
      if (need < have) {
        freeRun(v, it[o + Item.Block]! + need, have - need);
        it[o + Item.Blocks] = need;
      }
    }
  } else {
    journalSlot(v, s);
  }
  v.data8.set(vlen === vb.length ? vb : vb.subarray(0, vlen), it[o + Item.Block]! * v.spec.blocksize);
  it[o + Item.ValueLen] = vlen;
  if (expires >= 0) setExpiry(v, s, expires);
  if (v.spec.purgeLru) touch(v, s);
  journalEnd(v);
  return true;
}

/** `need` contiguous free blocks, making room when there is no such run; -1 = none. */
function allocRun(v: CacheViews, need: number, protect: number, now: number): number {
  if (need === 0) return 0;
  let start = findRun(v, need);
  if (start < 0) makeRoom(v, now, () => (start = findRun(v, need)) >= 0, protect); // fits() sets start
  if (start < 0) return -1;
  claimRun(v, start, need);
  return start;
}

function fullFailure(v: CacheViews, what: string, vlen: number): boolean {
  const s = v.spec;
  if (s.ignoreFull) return false;
  throw new SpindleError(
    'CACHE_FULL',
    `cache "${v.name}" is full: no room for a ${vlen}-byte value (needs ${what}; ` +
      `${Atomics.load(v.h, Hdr.Count)}/${s.items} items in use` +
      (s.bitmap ? `, ${s.blocks} blocks of ${s.blocksize} bytes` : '') +
      `); enable purge_lru, clear_on_full or ignore_full, or raise items${s.bitmap ? '/blocks' : ''}`,
  );
}
