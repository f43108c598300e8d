// A cache2-style fixed-slot key/value table on a SharedArrayBuffer.
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
//
// Locking: one robust mutex per cache (mutex.ts). get takes it too: it may delete an expired item,
// move the LRU and count hits, and a mutex costs two atomics when uncontended.
//
// Expiry: absolute epoch ms (Date.now(), or the injected clock) so every thread agrees; 0 = never.
// An expired entry is never returned (checked on every read, and deleted there); `sweep()` (the
// master, periodically; skipped for lazy_expire/no_expire caches) removes the rest. Unlike uWSGI,
// expiry also works with purge_lru. A full cache first reclaims expired entries (at most once per
// sweep_on_full seconds when that is set), then evicts (purge_lru), then clears (clear_on_full).
//
// The master thread must never block on a cache lock (a dead owner is only released by its own
// onThreadExit): it uses sweep() (try-lock) and stats() (lock-free), not get/set.
//
// Thread death: every mutation of an item is bracketed by a journal record (journalSlot = the
// item). Item headers are the source of truth; the hash chains, free stack, LRU list, bitmap and
// count are derived data. An item's `used` flag is set last when inserting. If the lock is found
// recovered from a dead owner (or a journal record is left over) the next locker runs `repair()`:
// drop the journaled item (its bytes may be half-written), then rebuild every derived structure
// from the item headers, validating each item (lengths, block run, hash, duplicate keys).

import { SpindleError } from '../errors.js';
import { Scratch, toBytes, fromBytes, djb33x, murmur2, type Bytesish } from './bytes.js';
import {
  type CacheSpec,
  cacheGeometry,
  cacheMaxValueBytes,
  CACHE_HDR_I32,
  CACHE_HDR_F64,
  ITEM_I32,
  ITEM_F64,
} from './cache-spec.js';
import { MUTEX_WORDS, mutexLock, mutexTryLock, mutexUnlock, recoverMutex } from './mutex.js';

// header i32 indexes
const H_LOCK = 0;
const H_COUNT = MUTEX_WORDS;
const H_FREETOP = MUTEX_WORDS + 1;
const H_LRUHEAD = MUTEX_WORDS + 2;
const H_LRUTAIL = MUTEX_WORDS + 3;
const H_JOP = MUTEX_WORDS + 4;
const H_JSLOT = MUTEX_WORDS + 5;
const H_BMCURSOR = MUTEX_WORDS + 6;
const H_MAGIC = MUTEX_WORDS + 7;
const H_REPAIRS = MUTEX_WORDS + 8;
// header f64 indexes
const F_HITS = 0;
const F_MISSES = 1;
const F_FULL = 2;
const F_STAMP = 3;
const F_LASTSWEEP = 4;
const F_NEXTEXP = 5;
const F_EVICTIONS = 6;
const F_EXPIRED = 7;
// item i32 fields
const I_FLAGS = 0;
const I_KLEN = 1;
const I_HASH = 2;
const I_VLEN = 3;
const I_BLOCK = 4;
const I_NBLK = 5;
const I_HNEXT = 6;
const I_HPREV = 7;
const I_LNEXT = 8;
const I_LPREV = 9;
// item f64 fields
const E_EXPIRES = 0;
const E_STAMP = 1;

const J_NONE = 0;
const J_SLOT = 1;
const J_CLEAR = 2;
/** LRU relink only: repair rebuilds the list, drops nothing. */
const J_LRU = 11;
const MAGIC = 0x53434832; // "SCH2"

if (CACHE_HDR_I32 < H_REPAIRS + 1 || CACHE_HDR_F64 < F_EXPIRED + 1 || ITEM_I32 < 10 || ITEM_F64 < 2) {
  throw new Error('cache geometry constants out of sync');
}

export interface CacheStats {
  name: string;
  items: number;
  capacity: number;
  hits: number;
  misses: number;
  full: number;
  evictions: number;
  expired: number;
  repairs: number;
  memoryBytes: number;
  keysize: number;
  blocksize: number;
  blocks: number;
  bitmap: boolean;
  maxValueBytes: number;
  hash: string;
  hashsize: number;
}

export interface SetOptions {
  /** seconds; 0 = never expires. Omitted: a new entry never expires, an update keeps its expiry. */
  ttl?: number;
}

export type Clock = () => number;

/**
 * Bucket of a hash. djb33x (uWSGI's default) barely mixes its high bits into the low ones, so a
 * power-of-two table of similar keys ("key-000…123") clusters; a murmur3-style finaliser spreads it.
 */
function bucketOf(hash: number, hashsize: number): number {
  let h = hash | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % hashsize;
}

const none: { bytes: Uint8Array } = { bytes: new Uint8Array(0) };

/** Per-thread handle on one shared cache. */
export class SharedCache {
  readonly spec: CacheSpec;
  readonly name: string;
  readonly maxValueBytes: number;
  readonly memoryBytes: number;
  private readonly h: Int32Array;
  private readonly f: Float64Array;
  private readonly it: Int32Array;
  private readonly ie: Float64Array;
  private readonly ht: Int32Array;
  private readonly fs: Int32Array;
  private readonly bm: Int32Array;
  private readonly keys8: Uint8Array;
  private readonly data8: Uint8Array;
  private readonly me: number;
  private readonly now: Clock;
  private readonly hashFn: (b: Uint8Array, len: number) => number;
  private readonly kScratch = new Scratch(256);
  /**
   * repair()/validItem()/verify() work on their own scratch: repair runs inside lock(), i.e. in the
   * middle of a get/set/… whose caller key bytes live in kScratch/kOut.
   */
  private readonly rScratch = new Scratch(256);
  private readonly vScratch = new Scratch(256);
  private readonly kOut: { bytes: Uint8Array } = { bytes: none.bytes };
  private readonly vOut: { bytes: Uint8Array } = { bytes: none.bytes };
  private readonly num8 = new Uint8Array(8);
  private readonly num64 = new BigInt64Array(this.num8.buffer);

  constructor(sab: SharedArrayBuffer, offset: number, spec: CacheSpec, ownerId: number, clock: Clock) {
    this.spec = spec;
    this.name = spec.name;
    this.me = ownerId;
    this.now = clock;
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

  /** Called once by the master on fresh (zeroed) memory. */
  initialise(): void {
    this.resetTable();
    this.f[F_NEXTEXP] = Infinity;
    Atomics.store(this.h, H_MAGIC, MAGIC);
  }

  // ---- public operations -------------------------------------------------------------------

  get(key: Bytesish): string | undefined {
    const klen = this.key(key);
    this.lock();
    try {
      const s = this.lookup(klen);
      if (s < 0) return undefined;
      const b = this.it[s * ITEM_I32 + I_BLOCK]! * this.spec.blocksize;
      return fromBytes(this.data8, b, this.it[s * ITEM_I32 + I_VLEN]!);
    } finally {
      this.unlock();
    }
  }

  getBytes(key: Bytesish): Uint8Array | undefined {
    const klen = this.key(key);
    this.lock();
    try {
      const s = this.lookup(klen);
      if (s < 0) return undefined;
      const b = this.it[s * ITEM_I32 + I_BLOCK]! * this.spec.blocksize;
      return this.data8.slice(b, b + this.it[s * ITEM_I32 + I_VLEN]!);
    } finally {
      this.unlock();
    }
  }

  has(key: Bytesish): boolean {
    const klen = this.key(key);
    this.lock();
    try {
      return this.find(this.kOut.bytes, klen, this.hashFn(this.kOut.bytes, klen), true) >= 0;
    } finally {
      this.unlock();
    }
  }

  /** Insert or overwrite. Returns false only for a full cache with ignore_full. */
  set(key: Bytesish, value: Bytesish, opts?: SetOptions): boolean {
    return this.write(key, value, opts, false);
  }

  /** Insert only if absent (uWSGI's cache_set). Returns false if the key exists. */
  add(key: Bytesish, value: Bytesish, opts?: SetOptions): boolean {
    return this.write(key, value, opts, true);
  }

  delete(key: Bytesish): boolean {
    const klen = this.key(key);
    this.lock();
    try {
      const s = this.find(this.kOut.bytes, klen, this.hashFn(this.kOut.bytes, klen), false);
      if (s < 0) return false;
      const live = !this.expired(s, this.now());
      this.remove(s);
      return live;
    } finally {
      this.unlock();
    }
  }

  clear(): void {
    this.lock();
    try {
      Atomics.store(this.h, H_JOP, J_CLEAR);
      this.resetTable();
      this.f[F_NEXTEXP] = Infinity;
      Atomics.store(this.h, H_JOP, J_NONE);
    } finally {
      this.unlock();
    }
  }

  /** The live keys, decoded as UTF-8: a key that is not valid UTF-8 comes back altered (use keysBytes()). */
  keys(): string[] {
    return this.liveKeys((off, len) => fromBytes(this.keys8, off, len));
  }

  /** The live keys as bytes (copies), exactly as stored: for binary keys. */
  keysBytes(): Uint8Array[] {
    return this.liveKeys((off, len) => this.keys8.slice(off, off + len));
  }

  private liveKeys<T>(read: (offset: number, length: number) => T): T[] {
    const out: T[] = [];
    this.lock();
    try {
      const now = this.now();
      const ks = this.spec.keysize;
      for (let s = 0; s < this.spec.items; s++) {
        if (this.it[s * ITEM_I32 + I_FLAGS] !== 1 || this.expired(s, now)) continue;
        out.push(read(s * ks, this.it[s * ITEM_I32 + I_KLEN]!));
      }
    } finally {
      this.unlock();
    }
    return out;
  }

  /** Number of stored entries (expired ones not yet swept included). */
  get size(): number {
    return Atomics.load(this.h, H_COUNT);
  }

  /** The entry as a signed 64-bit integer, or undefined (missing). CACHE_NOT_A_NUMBER if not 8 bytes. */
  getNumber(key: Bytesish): bigint | undefined {
    const klen = this.key(key);
    this.lock();
    try {
      const s = this.lookup(klen);
      if (s < 0) return undefined;
      return this.readNum(s, key);
    } finally {
      this.unlock();
    }
  }

  inc(key: Bytesish, by: bigint | number = 1n, opts?: SetOptions): bigint {
    return this.math(key, 0, by, opts);
  }
  dec(key: Bytesish, by: bigint | number = 1n, opts?: SetOptions): bigint {
    return this.math(key, 1, by, opts);
  }
  mul(key: Bytesish, by: bigint | number = 2n, opts?: SetOptions): bigint {
    return this.math(key, 2, by, opts);
  }
  div(key: Bytesish, by: bigint | number = 2n, opts?: SetOptions): bigint {
    return this.math(key, 3, by, opts);
  }

  /** Remove expired entries. Never blocks: returns -1 if the cache is busy. */
  sweep(now = this.now()): number {
    if (!(this.f[F_NEXTEXP]! <= now)) return 0;
    if (!mutexTryLock(this.h, H_LOCK, this.me)) return -1;
    try {
      if (Atomics.exchange(this.h, H_LOCK + 1, 0) === 1 || Atomics.load(this.h, H_JOP) !== J_NONE) this.repair();
      return this.sweepLocked(now);
    } finally {
      this.unlock();
    }
  }

  stats(): CacheStats {
    const s = this.spec;
    return {
      name: s.name,
      items: Atomics.load(this.h, H_COUNT),
      capacity: s.items,
      hits: this.f[F_HITS]!,
      misses: this.f[F_MISSES]!,
      full: this.f[F_FULL]!,
      evictions: this.f[F_EVICTIONS]!,
      expired: this.f[F_EXPIRED]!,
      repairs: Atomics.load(this.h, H_REPAIRS),
      memoryBytes: this.memoryBytes,
      keysize: s.keysize,
      blocksize: s.blocksize,
      blocks: s.blocks,
      bitmap: s.bitmap,
      maxValueBytes: this.maxValueBytes,
      hash: s.hash,
      hashsize: s.hashsize,
    };
  }

  /** Master hook: if `deadOwner` held this cache's lock, mark it for repair and release it. */
  recoverOwner(deadOwner: number): boolean {
    return recoverMutex(this.h, H_LOCK, deadOwner);
  }

  /**
   * Walk the whole table and return every inconsistency found (empty = consistent). Takes the lock
   * (repairing first if a dead owner left it dirty, which is what a real user would see).
   */
  verify(): string[] {
    this.lock();
    try {
      return this.verifyLocked();
    } finally {
      this.unlock();
    }
  }

  // ---- internals ---------------------------------------------------------------------------

  private lock(): void {
    if (mutexLock(this.h, H_LOCK, this.me) || Atomics.load(this.h, H_JOP) !== J_NONE) this.repair();
  }

  private unlock(): void {
    mutexUnlock(this.h, H_LOCK, this.me);
  }

  /** A TTL in seconds (0 = never expires), or undefined to keep the current one. */
  private checkTtl(ttl: number | undefined): number | undefined {
    if (ttl !== undefined && (typeof ttl !== 'number' || !(ttl >= 0) || !Number.isFinite(ttl))) {
      throw new RangeError(`cache "${this.name}": ttl must be a finite number of seconds ≥ 0, got ${String(ttl)}`);
    }
    return ttl;
  }

  private key(key: Bytesish): number {
    const n = toBytes(key, this.kScratch, this.kOut);
    if (n > this.spec.keysize) {
      throw new SpindleError(
        'CACHE_KEY_TOO_LONG',
        `cache "${this.name}": key of ${n} bytes is longer than keysize ${this.spec.keysize}`,
      );
    }
    return n;
  }

  private expired(s: number, now: number): boolean {
    const e = this.ie[s * ITEM_F64 + E_EXPIRES]!;
    return e !== 0 && e <= now;
  }

  /** find + expiry check (expired → removed, miss) + hit/miss accounting + LRU touch. */
  private lookup(klen: number): number {
    const s = this.find(this.kOut.bytes, klen, this.hashFn(this.kOut.bytes, klen), true);
    if (s < 0) {
      this.f[F_MISSES]!++;
      return -1;
    }
    this.f[F_HITS]!++;
    if (this.spec.purgeLru) this.touch(s);
    return s;
  }

  /** Chain walk. With dropExpired an expired match is deleted and -1 returned. */
  private find(kb: Uint8Array, klen: number, hash: number, dropExpired: boolean): number {
    const it = this.it;
    const ks = this.spec.keysize;
    const k8 = this.keys8;
    let p = this.ht[bucketOf(hash, this.spec.hashsize)]!;
    let guard = this.spec.items;
    while (p !== 0 && guard-- > 0) {
      const s = p - 1;
      const o = s * ITEM_I32;
      if (it[o + I_HASH] === (hash | 0) && it[o + I_KLEN] === klen) {
        const ko = s * ks;
        let i = 0;
        while (i < klen && k8[ko + i] === kb[i]) i++;
        if (i === klen) {
          if (dropExpired && this.ie[s * ITEM_F64 + E_EXPIRES] !== 0 && this.expired(s, this.now())) {
            this.remove(s);
            this.f[F_EXPIRED]!++;
            return -1;
          }
          return s;
        }
      }
      p = it[o + I_HNEXT]!;
    }
    return -1;
  }

  private write(key: Bytesish, value: Bytesish, opts: SetOptions | undefined, onlyIfAbsent: boolean): boolean {
    const klen = this.key(key);
    const vlen = toBytes(value, this.vScratch, this.vOut);
    if (vlen > this.maxValueBytes) {
      throw new SpindleError(
        'CACHE_VALUE_TOO_LARGE',
        `cache "${this.name}": value of ${vlen} bytes is larger than the maximum item size ${this.maxValueBytes}` +
          (this.spec.bitmap ? ' (blocks × blocksize)' : ' (blocksize; use bitmap=1 and blocks=N for larger values)'),
      );
    }
    const ttl = this.checkTtl(opts?.ttl);
    const hash = this.hashFn(this.kOut.bytes, klen);
    this.lock();
    try {
      const now = this.now();
      const expires = ttl === undefined ? -1 : ttl === 0 ? 0 : now + ttl * 1000;
      const s = this.find(this.kOut.bytes, klen, hash, true);
      if (s >= 0) {
        if (onlyIfAbsent) return false;
        return this.overwrite(s, this.vOut.bytes, vlen, expires, now);
      }
      return this.insert(klen, hash, this.vOut.bytes, vlen, expires < 0 ? 0 : expires, now);
    } finally {
      this.unlock();
    }
  }

  private blocksFor(vlen: number): number {
    return this.spec.bitmap ? Math.ceil(vlen / this.spec.blocksize) : 1;
  }

  private overwrite(s: number, vb: Uint8Array, vlen: number, expires: number, now: number): boolean {
    const o = s * ITEM_I32;
    const it = this.it;
    if (this.spec.bitmap) {
      const need = this.blocksFor(vlen);
      const have = it[o + I_NBLK]!;
      if (need > have) {
        // allocate a new run before giving up the old one; the item is protected from eviction
        if (this.spec.purgeLru) this.touch(s);
        const start = this.allocBlocks(need, s, now);
        if (start < 0) return this.fullFailure(`a run of ${need} free blocks`, vlen);
        Atomics.store(this.h, H_JSLOT, s + 1);
        Atomics.store(this.h, H_JOP, J_SLOT);
        this.freeBlocks(it[o + I_BLOCK]!, have);
        it[o + I_BLOCK] = start;
        it[o + I_NBLK] = need;
      } else {
        Atomics.store(this.h, H_JSLOT, s + 1);
        Atomics.store(this.h, H_JOP, J_SLOT);
        if (need < have) {
          this.freeBlocks(it[o + I_BLOCK]! + need, have - need);
          it[o + I_NBLK] = need;
        }
      }
    } else {
      Atomics.store(this.h, H_JSLOT, s + 1);
      Atomics.store(this.h, H_JOP, J_SLOT);
    }
    this.data8.set(vlen === vb.length ? vb : vb.subarray(0, vlen), it[o + I_BLOCK]! * this.spec.blocksize);
    it[o + I_VLEN] = vlen;
    if (expires >= 0) this.setExpiry(s, expires);
    if (this.spec.purgeLru) this.touch(s);
    Atomics.store(this.h, H_JOP, J_NONE);
    return true;
  }

  private insert(klen: number, hash: number, vb: Uint8Array, vlen: number, expires: number, now: number): boolean {
    const need = this.blocksFor(vlen);
    if (Atomics.load(this.h, H_FREETOP) === 0 && !this.makeRoom(now, () => Atomics.load(this.h, H_FREETOP) > 0)) {
      return this.fullFailure('a free item slot', vlen);
    }
    let start = -1;
    if (this.spec.bitmap) {
      start = this.allocBlocks(need, -1, now);
      if (start < 0) return this.fullFailure(`a run of ${need} free blocks`, vlen);
      // making room for blocks only ever frees slots, so the free stack is still non-empty
    }
    const h = this.h;
    const it = this.it;
    const top = h[H_FREETOP]! - 1;
    const s = this.fs[top]!;
    Atomics.store(h, H_JSLOT, s + 1);
    Atomics.store(h, H_JOP, J_SLOT);
    h[H_FREETOP] = top;
    const o = s * ITEM_I32;
    if (!this.spec.bitmap) start = s;
    this.keys8.set(this.kOut.bytes.subarray(0, klen), s * this.spec.keysize);
    this.data8.set(vlen === vb.length ? vb : vb.subarray(0, vlen), start * this.spec.blocksize);
    it[o + I_KLEN] = klen;
    it[o + I_HASH] = hash | 0;
    it[o + I_VLEN] = vlen;
    it[o + I_BLOCK] = start;
    it[o + I_NBLK] = this.spec.bitmap ? need : 1;
    this.setExpiry(s, expires);
    this.ie[s * ITEM_F64 + E_STAMP] = ++this.f[F_STAMP]!;
    // link at the head of its bucket
    const b = bucketOf(hash, this.spec.hashsize);
    const head = this.ht[b]!;
    it[o + I_HNEXT] = head;
    it[o + I_HPREV] = 0;
    if (head !== 0) it[(head - 1) * ITEM_I32 + I_HPREV] = s + 1;
    this.ht[b] = s + 1;
    if (this.spec.purgeLru) this.lruAppend(s);
    it[o + I_FLAGS] = 1;
    h[H_COUNT] = h[H_COUNT]! + 1;
    Atomics.store(h, H_JOP, J_NONE);
    return true;
  }

  private setExpiry(s: number, expires: number): void {
    this.ie[s * ITEM_F64 + E_EXPIRES] = expires;
    if (expires !== 0 && expires < this.f[F_NEXTEXP]!) this.f[F_NEXTEXP] = expires;
  }

  private fullFailure(what: string, vlen: number): boolean {
    if (this.spec.ignoreFull) return false;
    const s = this.spec;
    throw new SpindleError(
      'CACHE_FULL',
      `cache "${this.name}" is full: no room for a ${vlen}-byte value (needs ${what}; ` +
        `${Atomics.load(this.h, H_COUNT)}/${s.items} items in use` +
        (s.bitmap ? `, ${s.blocks} blocks of ${s.blocksize} bytes` : '') +
        `); enable purge_lru, clear_on_full or ignore_full, or raise items${s.bitmap ? '/blocks' : ''}`,
    );
  }

  /**
   * Full handling: count it, then free room by (1) dropping expired entries (rate-limited by
   * sweep_on_full when set), (2) evicting least recently used entries (purge_lru), (3) clear_on_full.
   * `fits` says whether there is room now. `protect` is never evicted.
   */
  private makeRoom(now: number, fits: () => boolean, protect = -1): boolean {
    this.f[F_FULL]!++;
    const spec = this.spec;
    if (this.f[F_NEXTEXP]! <= now && (spec.sweepOnFull === 0 || now - this.f[F_LASTSWEEP]! >= spec.sweepOnFull * 1000)) {
      this.f[F_LASTSWEEP] = now;
      this.sweepLocked(now);
      if (fits()) return true;
    }
    if (spec.purgeLru) {
      while (!fits()) {
        let p = this.h[H_LRUHEAD]!;
        if (p !== 0 && p - 1 === protect) p = this.it[(p - 1) * ITEM_I32 + I_LNEXT]!;
        if (p === 0) break;
        this.remove(p - 1);
        this.f[F_EVICTIONS]!++;
      }
      if (fits()) return true;
    }
    if (spec.clearOnFull) {
      for (let s = 0; s < spec.items; s++) if (s !== protect && this.it[s * ITEM_I32 + I_FLAGS] === 1) this.remove(s);
      return fits();
    }
    return false;
  }

  /** Find `need` contiguous free blocks (first fit from the cursor, wrapping once), mark them used. */
  private allocBlocks(need: number, protect: number, now: number): number {
    if (need === 0) return 0;
    let start = this.findRun(need);
    if (start < 0) this.makeRoom(now, () => (start = this.findRun(need)) >= 0, protect); // fits() sets start
    if (start < 0) return -1;
    for (let i = 0; i < need; i++) this.bm[(start + i) >>> 5]! |= 1 << ((start + i) & 31);
    this.h[H_BMCURSOR] = (start + need) % this.spec.blocks;
    return start;
  }

  private findRun(need: number): number {
    const blocks = this.spec.blocks;
    if (need > blocks) return -1;
    const bm = this.bm;
    const cursor = this.h[H_BMCURSOR]! % blocks;
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

  private freeBlocks(start: number, n: number): void {
    for (let i = 0; i < n; i++) this.bm[(start + i) >>> 5]! &= ~(1 << ((start + i) & 31));
  }

  /** Unlink and free slot s (journaled). */
  private remove(s: number): void {
    const h = this.h;
    const it = this.it;
    const o = s * ITEM_I32;
    Atomics.store(h, H_JSLOT, s + 1);
    Atomics.store(h, H_JOP, J_SLOT);
    it[o + I_FLAGS] = 0;
    const next = it[o + I_HNEXT]!;
    const prev = it[o + I_HPREV]!;
    if (prev !== 0) it[(prev - 1) * ITEM_I32 + I_HNEXT] = next;
    else this.ht[bucketOf(it[o + I_HASH]!, this.spec.hashsize)] = next;
    if (next !== 0) it[(next - 1) * ITEM_I32 + I_HPREV] = prev;
    if (this.spec.purgeLru) this.lruUnlink(s);
    if (this.spec.bitmap) this.freeBlocks(it[o + I_BLOCK]!, it[o + I_NBLK]!);
    it[o + I_HNEXT] = 0;
    it[o + I_HPREV] = 0;
    this.fs[h[H_FREETOP]!] = s;
    h[H_FREETOP] = h[H_FREETOP]! + 1;
    h[H_COUNT] = h[H_COUNT]! - 1;
    Atomics.store(h, H_JOP, J_NONE);
  }

  private lruAppend(s: number): void {
    const it = this.it;
    const tail = this.h[H_LRUTAIL]!;
    it[s * ITEM_I32 + I_LPREV] = tail;
    it[s * ITEM_I32 + I_LNEXT] = 0;
    if (tail !== 0) it[(tail - 1) * ITEM_I32 + I_LNEXT] = s + 1;
    else this.h[H_LRUHEAD] = s + 1;
    this.h[H_LRUTAIL] = s + 1;
  }

  private lruUnlink(s: number): void {
    const it = this.it;
    const o = s * ITEM_I32;
    const n = it[o + I_LNEXT]!;
    const p = it[o + I_LPREV]!;
    if (p !== 0) it[(p - 1) * ITEM_I32 + I_LNEXT] = n;
    else this.h[H_LRUHEAD] = n;
    if (n !== 0) it[(n - 1) * ITEM_I32 + I_LPREV] = p;
    else this.h[H_LRUTAIL] = p;
    it[o + I_LNEXT] = 0;
    it[o + I_LPREV] = 0;
  }

  /**
   * Move to the most-recent end. Only relinks: a torn relink is rebuilt from stamps on repair.
   * Inside an open J_SLOT record (overwrite, math) that record stays: ending it here would let a
   * death later in the same operation go unjournaled.
   */
  private touch(s: number): void {
    this.ie[s * ITEM_F64 + E_STAMP] = ++this.f[F_STAMP]!;
    if (this.h[H_LRUTAIL] === s + 1) return;
    const outer = Atomics.load(this.h, H_JOP) !== J_NONE;
    if (!outer) Atomics.store(this.h, H_JOP, J_LRU);
    this.lruUnlink(s);
    this.lruAppend(s);
    if (!outer) Atomics.store(this.h, H_JOP, J_NONE);
  }

  private sweepLocked(now: number): number {
    let removed = 0;
    let next = Infinity;
    for (let s = 0; s < this.spec.items; s++) {
      if (this.it[s * ITEM_I32 + I_FLAGS] !== 1) continue;
      const e = this.ie[s * ITEM_F64 + E_EXPIRES]!;
      if (e === 0) continue;
      if (e <= now) {
        this.remove(s);
        removed++;
      } else if (e < next) next = e;
    }
    this.f[F_NEXTEXP] = next;
    this.f[F_EXPIRED] = this.f[F_EXPIRED]! + removed;
    return removed;
  }

  private readNum(s: number, key: Bytesish): bigint {
    const o = s * ITEM_I32;
    const vlen = this.it[o + I_VLEN]!;
    if (vlen !== 8) {
      throw new SpindleError(
        'CACHE_NOT_A_NUMBER',
        `cache "${this.name}": the value of ${typeof key === 'string' ? JSON.stringify(key) : 'this key'} is ${vlen} bytes, not an 8-byte signed 64-bit integer`,
      );
    }
    const b = this.it[o + I_BLOCK]! * this.spec.blocksize;
    for (let i = 0; i < 8; i++) this.num8[i] = this.data8[b + i]!;
    return this.num64[0]!;
  }

  private math(key: Bytesish, op: number, by: bigint | number, opts?: SetOptions): bigint {
    let d: bigint;
    if (typeof by === 'bigint') d = by;
    else if (Number.isSafeInteger(by)) d = BigInt(by);
    else throw new RangeError(`cache "${this.name}": math operand must be a bigint or a safe integer, got ${String(by)}`);
    const apply = (v: bigint): bigint => {
      switch (op) {
        case 0: return BigInt.asIntN(64, v + d);
        case 1: return BigInt.asIntN(64, v - d);
        case 2: return BigInt.asIntN(64, v * d);
        default:
          if (d === 0n) throw new RangeError(`cache "${this.name}": division by zero`);
          return BigInt.asIntN(64, v / d);
      }
    };
    const klen = this.key(key);
    const ttl = this.checkTtl(opts?.ttl);
    const hash = this.hashFn(this.kOut.bytes, klen);
    this.lock();
    try {
      const now = this.now();
      const expires = ttl === undefined ? -1 : ttl === 0 ? 0 : now + ttl * 1000;
      const s = this.find(this.kOut.bytes, klen, hash, true);
      const r = apply(s >= 0 ? this.readNum(s, key) : this.spec.mathInitial);
      this.num64[0] = r;
      if (s >= 0) {
        const o = s * ITEM_I32;
        Atomics.store(this.h, H_JSLOT, s + 1);
        Atomics.store(this.h, H_JOP, J_SLOT);
        this.data8.set(this.num8, this.it[o + I_BLOCK]! * this.spec.blocksize);
        if (expires >= 0) this.setExpiry(s, expires);
        if (this.spec.purgeLru) this.touch(s);
        Atomics.store(this.h, H_JOP, J_NONE);
      } else {
        const v = new Uint8Array(8);
        v.set(this.num8);
        if (!this.insert(klen, hash, v, 8, expires < 0 ? 0 : expires, now)) {
          throw new SpindleError('CACHE_FULL', `cache "${this.name}" is full: cannot create math key (${this.spec.items} items)`);
        }
      }
      return r;
    } finally {
      this.unlock();
    }
  }

  /** Empty every structure (used by initialise and clear). */
  private resetTable(): void {
    const spec = this.spec;
    const it = this.it;
    for (let s = 0; s < spec.items; s++) it[s * ITEM_I32 + I_FLAGS] = 0;
    this.ht.fill(0);
    for (let i = 0; i < spec.items; i++) this.fs[i] = spec.items - 1 - i;
    this.h[H_FREETOP] = spec.items;
    this.h[H_LRUHEAD] = 0;
    this.h[H_LRUTAIL] = 0;
    this.h[H_BMCURSOR] = 0;
    if (spec.bitmap) this.resetBitmap();
    Atomics.store(this.h, H_COUNT, 0);
  }

  private resetBitmap(): void {
    this.bm.fill(0);
    const blocks = this.spec.blocks;
    for (let b = blocks; b < this.bm.length * 32; b++) this.bm[b >>> 5]! |= 1 << (b & 31); // padding = used
  }

  /**
   * Rebuild every derived structure from the item headers. Called with the lock held when the
   * previous owner died. Drops the journaled item and any item that does not validate.
   */
  repair(): void {
    const spec = this.spec;
    const h = this.h;
    const it = this.it;
    const op = Atomics.load(h, H_JOP);
    const js = Atomics.load(h, H_JSLOT) - 1;
    if (op === J_CLEAR) {
      this.resetTable();
      this.f[F_NEXTEXP] = Infinity;
    } else {
      if (op === J_SLOT && js >= 0 && js < spec.items) it[js * ITEM_I32 + I_FLAGS] = 0;
      this.ht.fill(0);
      if (spec.bitmap) this.resetBitmap();
      let count = 0;
      let nextExp = Infinity;
      const live: number[] = [];
      for (let s = 0; s < spec.items; s++) {
        const o = s * ITEM_I32;
        if (it[o + I_FLAGS] !== 1) {
          it[o + I_FLAGS] = 0;
          continue;
        }
        if (!this.validItem(s)) {
          it[o + I_FLAGS] = 0;
          continue;
        }
        if (spec.bitmap) {
          const st = it[o + I_BLOCK]!;
          const n = it[o + I_NBLK]!;
          let clash = false;
          for (let i = 0; i < n && !clash; i++) if (this.bm[(st + i) >>> 5]! & (1 << ((st + i) & 31))) clash = true;
          if (clash) {
            it[o + I_FLAGS] = 0;
            continue;
          }
          for (let i = 0; i < n; i++) this.bm[(st + i) >>> 5]! |= 1 << ((st + i) & 31);
        }
        // duplicate key? (cannot happen with the journal, but never trust a dead thread)
        const klen = it[o + I_KLEN]!;
        const kb = this.rScratch.ensure(klen);
        kb.set(this.keys8.subarray(s * spec.keysize, s * spec.keysize + klen));
        if (this.find(kb, klen, it[o + I_HASH]!, false) >= 0) {
          if (spec.bitmap) this.freeBlocks(it[o + I_BLOCK]!, it[o + I_NBLK]!);
          it[o + I_FLAGS] = 0;
          continue;
        }
        const b = bucketOf(it[o + I_HASH]!, spec.hashsize);
        const head = this.ht[b]!;
        it[o + I_HNEXT] = head;
        it[o + I_HPREV] = 0;
        if (head !== 0) it[(head - 1) * ITEM_I32 + I_HPREV] = s + 1;
        this.ht[b] = s + 1;
        const e = this.ie[s * ITEM_F64 + E_EXPIRES]!;
        if (e !== 0 && e < nextExp) nextExp = e;
        live.push(s);
        count++;
      }
      // free stack: every unused slot
      let top = 0;
      for (let s = spec.items - 1; s >= 0; s--) if (it[s * ITEM_I32 + I_FLAGS] !== 1) this.fs[top++] = s;
      h[H_FREETOP] = top;
      // LRU: order by stamp
      h[H_LRUHEAD] = 0;
      h[H_LRUTAIL] = 0;
      if (spec.purgeLru) {
        live.sort((a, b) => this.ie[a * ITEM_F64 + E_STAMP]! - this.ie[b * ITEM_F64 + E_STAMP]!);
        for (const s of live) this.lruAppend(s);
      }
      this.f[F_NEXTEXP] = nextExp;
      Atomics.store(h, H_COUNT, count);
    }
    Atomics.store(h, H_JSLOT, 0);
    Atomics.store(h, H_JOP, J_NONE);
    Atomics.add(h, H_REPAIRS, 1);
  }

  private validItem(s: number): boolean {
    const spec = this.spec;
    const o = s * ITEM_I32;
    const it = this.it;
    const klen = it[o + I_KLEN]!;
    const vlen = it[o + I_VLEN]!;
    if (klen < 0 || klen > spec.keysize || vlen < 0 || vlen > this.maxValueBytes) return false;
    if (spec.bitmap) {
      const st = it[o + I_BLOCK]!;
      const n = it[o + I_NBLK]!;
      if (n !== Math.ceil(vlen / spec.blocksize) || st < 0 || st + n > spec.blocks) return false;
    } else if (it[o + I_BLOCK] !== s || it[o + I_NBLK] !== 1) return false;
    const kb = this.keys8.subarray(s * spec.keysize, s * spec.keysize + klen);
    const copy = this.rScratch.ensure(klen);
    copy.set(kb);
    return (this.hashFn(copy, klen) | 0) === it[o + I_HASH];
  }

  private verifyLocked(): string[] {
    const p: string[] = [];
    const spec = this.spec;
    const h = this.h;
    const it = this.it;
    if (h[H_JOP] !== J_NONE) p.push(`journal not empty: op ${h[H_JOP]} slot ${h[H_JSLOT]! - 1}`);
    let used = 0;
    for (let s = 0; s < spec.items; s++) {
      const fl = it[s * ITEM_I32 + I_FLAGS];
      if (fl === 1) {
        used++;
        if (!this.validItem(s)) p.push(`item ${s}: invalid header (lengths, block run or hash)`);
      } else if (fl !== 0) p.push(`item ${s}: bad flags ${fl}`);
    }
    if (used !== h[H_COUNT]) p.push(`count ${h[H_COUNT]} but ${used} items in use`);
    // free stack
    const top = h[H_FREETOP]!;
    if (top + used !== spec.items) p.push(`free stack has ${top} entries, expected ${spec.items - used}`);
    const seenFree = new Uint8Array(spec.items);
    for (let i = 0; i < Math.min(top, spec.items); i++) {
      const s = this.fs[i]!;
      if (s < 0 || s >= spec.items) p.push(`free stack[${i}] = ${s} out of range`);
      else if (seenFree[s]) p.push(`slot ${s} twice in free stack`);
      else {
        seenFree[s] = 1;
        if (it[s * ITEM_I32 + I_FLAGS] === 1) p.push(`slot ${s} is in use and in the free stack`);
      }
    }
    // hash chains
    const seen = new Uint8Array(spec.items);
    let chained = 0;
    for (let b = 0; b < spec.hashsize; b++) {
      let prev = 0;
      let q = this.ht[b]!;
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
        const o = s * ITEM_I32;
        if (it[o + I_FLAGS] !== 1) p.push(`bucket ${b}: slot ${s} is not in use`);
        if (bucketOf(it[o + I_HASH]!, spec.hashsize) !== b) p.push(`bucket ${b}: slot ${s} hashes elsewhere`);
        if (it[o + I_HPREV] !== prev) p.push(`bucket ${b}: slot ${s} prev link ${it[o + I_HPREV]} != ${prev}`);
        if (seen[s]) p.push(`slot ${s} reachable twice`);
        seen[s] = 1;
        chained++;
        prev = q;
        q = it[o + I_HNEXT]!;
      }
    }
    if (chained !== used) p.push(`${chained} items reachable from the hash table, ${used} in use`);
    // duplicate keys
    const keys = new Set<string>();
    for (let s = 0; s < spec.items; s++) {
      if (it[s * ITEM_I32 + I_FLAGS] !== 1) continue;
      const k = Array.from(this.keys8.subarray(s * spec.keysize, s * spec.keysize + it[s * ITEM_I32 + I_KLEN]!)).join(',');
      if (keys.has(k)) p.push(`slot ${s}: duplicate key`);
      keys.add(k);
    }
    // LRU
    if (spec.purgeLru) {
      let n = 0;
      let prev = 0;
      let q = h[H_LRUHEAD]!;
      while (q !== 0 && n <= spec.items) {
        const s = q - 1;
        if (it[s * ITEM_I32 + I_FLAGS] !== 1) p.push(`lru: slot ${s} not in use`);
        if (it[s * ITEM_I32 + I_LPREV] !== prev) p.push(`lru: slot ${s} prev link wrong`);
        n++;
        prev = q;
        q = it[s * ITEM_I32 + I_LNEXT]!;
      }
      if (n !== used) p.push(`lru list has ${n} entries, ${used} in use`);
      if (h[H_LRUTAIL] !== prev) p.push('lru tail does not match the last entry');
    }
    // bitmap
    if (spec.bitmap) {
      const want = new Int32Array(this.bm.length);
      for (let b = spec.blocks; b < want.length * 32; b++) want[b >>> 5]! |= 1 << (b & 31);
      for (let s = 0; s < spec.items; s++) {
        const o = s * ITEM_I32;
        if (it[o + I_FLAGS] !== 1) continue;
        for (let i = 0; i < it[o + I_NBLK]!; i++) {
          const blk = it[o + I_BLOCK]! + i;
          if (want[blk >>> 5]! & (1 << (blk & 31))) p.push(`block ${blk} used by two items`);
          want[blk >>> 5]! |= 1 << (blk & 31);
        }
      }
      for (let w = 0; w < want.length; w++) if (want[w] !== this.bm[w]) p.push(`bitmap word ${w} = ${this.bm[w]} expected ${want[w]}`);
    }
    return p;
  }

  /** Is the cache memory initialised (magic present)? */
  get initialised(): boolean {
    return Atomics.load(this.h, H_MAGIC) === MAGIC;
  }
}
