// The consistency checker (tests and the stress suite): walks every structure of a cache and
// lists each inconsistency found. The lock is held by the caller.

import { Journal } from './journal.js';
import { validItem } from './repair.js';
import { bucketOf } from './table.js';
import { type CacheViews, ItemWords, Hdr, Item } from './views.js';

/** Every inconsistency in the table (empty = consistent). */
export function tableProblems(v: CacheViews): string[] {
  const p: string[] = [];
  const spec = v.spec;
  const h = v.h;
  const it = v.it;
  if (h[Hdr.JournalOp] !== Journal.None) p.push(`journal not empty: op ${h[Hdr.JournalOp]} slot ${h[Hdr.JournalSlot]! - 1}`);
  let used = 0;
  for (let s = 0; s < spec.items; s++) {
    const fl = it[s * ItemWords.I32 + Item.Flags];
    if (fl === 1) {
      used++;
      if (!validItem(v, s)) p.push(`item ${s}: invalid header (lengths, block run or hash)`);
    } else if (fl !== 0) p.push(`item ${s}: bad flags ${fl}`);
  }
  if (used !== h[Hdr.Count]) p.push(`count ${h[Hdr.Count]} but ${used} items in use`);
  // free stack
  const top = h[Hdr.FreeTop]!;
  if (top + used !== spec.items) p.push(`free stack has ${top} entries, expected ${spec.items - used}`);
  const seenFree = new Uint8Array(spec.items);
  for (let i = 0; i < Math.min(top, spec.items); i++) {
    const s = v.fs[i]!;
    if (s < 0 || s >= spec.items) p.push(`free stack[${i}] = ${s} out of range`);
    else if (seenFree[s]) p.push(`slot ${s} twice in free stack`);
    else {
      seenFree[s] = 1;
      if (it[s * ItemWords.I32 + Item.Flags] === 1) p.push(`slot ${s} is in use and in the free stack`);
    }
  }
  // hash chains
  const seen = new Uint8Array(spec.items);
  let chained = 0;
  for (let b = 0; b < spec.hashsize; b++) {
    let prev = 0;
    let q = v.ht[b]!;
    let guard = spec.items + 1;
    while (q !== 0) {
      if (--guard < 0) {
        p.push(`bucket ${b}: chain loop`);
        break;
      }
      const s = q - 1;
      if (s < 0 || s >= spec.items) {
        p.push(`bucket ${b}: link ${q} out of range`);
        break;
      }
      const o = s * ItemWords.I32;
      if (it[o + Item.Flags] !== 1) p.push(`bucket ${b}: slot ${s} is not in use`);
      if (bucketOf(it[o + Item.Hash]!, spec.hashsize) !== b) p.push(`bucket ${b}: slot ${s} hashes elsewhere`);
      if (it[o + Item.HashPrev] !== prev) p.push(`bucket ${b}: slot ${s} prev link ${it[o + Item.HashPrev]} != ${prev}`);
      if (seen[s]) p.push(`slot ${s} reachable twice`);
      seen[s] = 1;
      chained++;
      prev = q;
      q = it[o + Item.HashNext]!;
    }
  }
  if (chained !== used) p.push(`${chained} items reachable from the hash table, ${used} in use`);
  // duplicate keys
  const keys = new Set<string>();
  for (let s = 0; s < spec.items; s++) {
    if (it[s * ItemWords.I32 + Item.Flags] !== 1) continue;
    const k = Array.from(v.keys8.subarray(s * spec.keysize, s * spec.keysize + it[s * ItemWords.I32 + Item.KeyLen]!)).join(',');
    if (keys.has(k)) p.push(`slot ${s}: duplicate key`);
    keys.add(k);
  }
  // LRU
  if (spec.purgeLru) {
    let n = 0;
    let prev = 0;
    let q = h[Hdr.LruHead]!;
    while (q !== 0 && n <= spec.items) {
      const s = q - 1;
      if (it[s * ItemWords.I32 + Item.Flags] !== 1) p.push(`lru: slot ${s} not in use`);
      if (it[s * ItemWords.I32 + Item.LruPrev] !== prev) p.push(`lru: slot ${s} prev link wrong`);
      n++;
      prev = q;
      q = it[s * ItemWords.I32 + Item.LruNext]!;
    }
    if (n !== used) p.push(`lru list has ${n} entries, ${used} in use`);
    if (h[Hdr.LruTail] !== prev) p.push('lru tail does not match the last entry');
  }
  // bitmap
  if (spec.bitmap) {
    const want = new Int32Array(v.bm.length);
    for (let b = spec.blocks; b < want.length * 32; b++) want[b >>> 5]! |= 1 << (b & 31);
    for (let s = 0; s < spec.items; s++) {
      const o = s * ItemWords.I32;
      if (it[o + Item.Flags] !== 1) continue;
      for (let i = 0; i < it[o + Item.Blocks]!; i++) {
        const blk = it[o + Item.Block]! + i;
        if (want[blk >>> 5]! & (1 << (blk & 31))) p.push(`block ${blk} used by two items`);
        want[blk >>> 5]! |= 1 << (blk & 31);
      }
    }
    for (let w = 0; w < want.length; w++) if (want[w] !== v.bm[w]) p.push(`bitmap word ${w} = ${v.bm[w]} expected ${want[w]}`);
  }
  return p;
}
