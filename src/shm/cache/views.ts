// Where every field of one cache lives: the typed-array views over its region of the shared buffer
// and the index of each header and item field. Every other cache module works on a CacheViews.
//
// Regions (byte offsets from cache-spec.ts:cacheGeometry, all 8-aligned):
//   header i32 [CACHE_HDR_I32]  mutex(4) count freeTop lruHead lruTail journalOp journalSlot
//                                bitmapCursor magic repairs
//   header f64 [CACHE_HDR_F64]  hits misses full stampCounter lastSweepOnFull nextExpiry evictions expired
//   item f64   [items × 2]      expires (epoch ms, 0 = never), stamp (LRU order)
//   item i32   [items × 10]     flags keylen hash vallen firstBlock nblocks hnext hprev lnext lprev
//                                (links are slot+1, 0 = none)
//   hash table [hashsize] i32   head slot+1 of each bucket's chain
//   free stack [items] i32      unused slot indices, freeTop of them valid
//   bitmap     [ceil(blocks/32)] i32, bit set = block in use (bitmap mode only)
//   keys       [items × keysize] bytes
//   data       [blocks × blocksize] bytes; without bitmap item i owns block i

import { djb33x, murmur2 } from '../bytes.js';
import {
  type CacheSpec,
  cacheGeometry,
  cacheMaxValueBytes,
  CACHE_HDR_I32,
  CACHE_HDR_F64,
  ItemWords,
} from '../cache-spec.js';
import { MUTEX_WORDS } from '../mutex.js';

export { ItemWords };

// Field indexes are const enums: tsc writes the numbers into every module that uses them, where an
// imported const would cost a load and a hole check on each access in the hot paths.

/** Int32 header words; the first MUTEX_WORDS are the cache's mutex. */
export const enum Hdr {
  Lock = 0,
  Count = 4,
  FreeTop,
  LruHead,
  LruTail,
  JournalOp,
  JournalSlot,
  BitmapCursor,
  Magic,
  Repairs,
}

/** Float64 header words. */
export const enum HdrF {
  Hits = 0,
  Misses,
  Full,
  /** LRU stamp counter */
  Stamp,
  /** when sweep_on_full last swept */
  LastSweep,
  /** earliest expiry of any item (Infinity = none) */
  NextExpiry,
  Evictions,
  Expired,
}

/** Int32 fields of an item header; links are slot+1, 0 = none. */
export const enum Item {
  /** 1 = in use; set last on insert */
  Flags = 0,
  KeyLen,
  Hash,
  ValueLen,
  /** first data block */
  Block,
  /** data blocks in use */
  Blocks,
  HashNext,
  HashPrev,
  LruNext,
  LruPrev,
}

/** Float64 fields of an item. */
export const enum ItemF {
  /** epoch ms, 0 = never */
  Expires = 0,
  /** LRU order */
  Stamp,
}

export const MAGIC = 0x53434832; // "SCH2"

if (Hdr.Count !== MUTEX_WORDS || CACHE_HDR_I32 < Hdr.Repairs + 1 || CACHE_HDR_F64 < HdrF.Expired + 1 || ItemWords.I32 < Item.LruPrev + 1 || ItemWords.F64 < ItemF.Stamp + 1) {
  throw new Error('cache geometry constants out of sync'); // an invariant of this file: a bug, not a user's error
}

/** This thread's views over one cache's region. */
export class CacheViews {
  readonly spec: CacheSpec;
  readonly name: string;
  readonly maxValueBytes: number;
  readonly memoryBytes: number;
  readonly h: Int32Array;
  readonly f: Float64Array;
  readonly it: Int32Array;
  readonly ie: Float64Array;
  readonly ht: Int32Array;
  readonly fs: Int32Array;
  readonly bm: Int32Array;
  readonly keys8: Uint8Array;
  readonly data8: Uint8Array;
  readonly hashFn: (b: Uint8Array, len: number) => number;

  constructor(sab: SharedArrayBuffer, offset: number, spec: CacheSpec) {
    this.spec = spec;
    this.name = spec.name;
    this.maxValueBytes = cacheMaxValueBytes(spec);
    const g = cacheGeometry(spec);
    this.memoryBytes = g.total;
    this.h = new Int32Array(sab, offset + g.hdrI32, CACHE_HDR_I32);
    this.f = new Float64Array(sab, offset + g.hdrF64, CACHE_HDR_F64);
    this.ie = new Float64Array(sab, offset + g.itemF64, spec.items * ItemWords.F64);
    this.it = new Int32Array(sab, offset + g.itemI32, spec.items * ItemWords.I32);
    this.ht = new Int32Array(sab, offset + g.hashTable, spec.hashsize);
    this.fs = new Int32Array(sab, offset + g.freeStack, spec.items);
    this.bm = new Int32Array(sab, offset + g.bitmap, spec.bitmap ? Math.ceil(spec.blocks / 32) : 0);
    this.keys8 = new Uint8Array(sab, offset + g.keys, spec.items * spec.keysize);
    this.data8 = new Uint8Array(sab, offset + g.data, spec.blocks * spec.blocksize);
    this.hashFn = spec.hash === 'murmur2' ? murmur2 : djb33x;
  }
}
