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
  ITEM_I32,
  ITEM_F64,
} from '../cache-spec.js';
import { MUTEX_WORDS } from '../mutex.js';

export { ITEM_I32, ITEM_F64 };

// header i32 indexes
export const H_LOCK = 0;
export const H_COUNT = MUTEX_WORDS;
export const H_FREETOP = MUTEX_WORDS + 1;
export const H_LRUHEAD = MUTEX_WORDS + 2;
export const H_LRUTAIL = MUTEX_WORDS + 3;
export const H_JOP = MUTEX_WORDS + 4;
export const H_JSLOT = MUTEX_WORDS + 5;
export const H_BMCURSOR = MUTEX_WORDS + 6;
export const H_MAGIC = MUTEX_WORDS + 7;
export const H_REPAIRS = MUTEX_WORDS + 8;
// header f64 indexes
export const F_HITS = 0;
export const F_MISSES = 1;
export const F_FULL = 2;
export const F_STAMP = 3;
export const F_LASTSWEEP = 4;
export const F_NEXTEXP = 5;
export const F_EVICTIONS = 6;
export const F_EXPIRED = 7;
// item i32 fields
export const I_FLAGS = 0;
export const I_KLEN = 1;
export const I_HASH = 2;
export const I_VLEN = 3;
export const I_BLOCK = 4;
export const I_NBLK = 5;
export const I_HNEXT = 6;
export const I_HPREV = 7;
export const I_LNEXT = 8;
export const I_LPREV = 9;
// item f64 fields
export const E_EXPIRES = 0;
export const E_STAMP = 1;

export const MAGIC = 0x53434832; // "SCH2"

if (CACHE_HDR_I32 < H_REPAIRS + 1 || CACHE_HDR_F64 < F_EXPIRED + 1 || ITEM_I32 < 10 || ITEM_F64 < 2) {
  throw new Error('cache geometry constants out of sync');
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
    this.ie = new Float64Array(sab, offset + g.itemF64, spec.items * ITEM_F64);
    this.it = new Int32Array(sab, offset + g.itemI32, spec.items * ITEM_I32);
    this.ht = new Int32Array(sab, offset + g.hashTable, spec.hashsize);
    this.fs = new Int32Array(sab, offset + g.freeStack, spec.items);
    this.bm = new Int32Array(sab, offset + g.bitmap, spec.bitmap ? Math.ceil(spec.blocks / 32) : 0);
    this.keys8 = new Uint8Array(sab, offset + g.keys, spec.items * spec.keysize);
    this.data8 = new Uint8Array(sab, offset + g.data, spec.blocks * spec.blocksize);
    this.hashFn = spec.hash === 'murmur2' ? murmur2 : djb33x;
  }
}
