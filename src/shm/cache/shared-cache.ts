// A cache2-style fixed-slot key/value table on a SharedArrayBuffer: this thread's handle on one
// cache, and every operation applications and the master call on it.
//
// Locking: one robust mutex per cache (mutex.ts). get takes it too: it may delete an expired item,
// move the LRU and count hits, and a mutex costs two atomics when uncontended. If the lock is found
// recovered from a dead owner (or a journal record is left over) the locker first runs repair.ts.
//
// The master thread must never block on a cache lock (a dead owner is only released by its own
// onThreadExit): it uses sweep() (try-lock) and stats() (lock-free), not get/set.
//
// The rest lives next door: views.ts (where each field is), table.ts (hash chains, free stack),
// write.ts (insert/overwrite), blocks.ts (bitmap allocator), lru.ts, expiry.ts, eviction.ts (full
// handling), math.ts (inc/dec/mul/div), journal.ts + repair.ts (thread death), verify.ts (checker).

import { SpindleError, SpindleRangeError } from '../../errors.js';
import { Scratch, toBytes, fromBytes, type Bytesish } from '../bytes.js';
import type { CacheSpec } from '../cache-spec.js';
import { mutexLock, mutexTryLock, mutexUnlock, recoverMutex } from '../mutex.js';
import { dropIfExpired, expiryFor, isExpired, sweepExpired } from './expiry.js';
import { Journal, journalOp, journalOpen, journalEnd } from './journal.js';
import { touch } from './lru.js';
import { type MathOp, applyMath, mathOperand, numberBytes, readNumber, writeNumber } from './math.js';
import { repairTable } from './repair.js';
import { findSlot, removeSlot, resetTable } from './table.js';
import { tableProblems } from './verify.js';
import { CacheViews, ItemWords, Hdr, Item, HdrF, MAGIC } from './views.js';
import { insertItem, overwriteItem } from './write.js';

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

const none = new Uint8Array(0);

/** Per-thread handle on one shared cache. */
export class SharedCache extends CacheViews {
  private readonly me: number;
  private readonly now: Clock;
  /** The caller's key and value bytes of the operation in progress. */
  private readonly kScratch = new Scratch(256);
  private readonly vScratch = new Scratch(256);
  private readonly kOut: { bytes: Uint8Array } = { bytes: none };
  private readonly vOut: { bytes: Uint8Array } = { bytes: none };

  constructor(sab: SharedArrayBuffer, offset: number, spec: CacheSpec, ownerId: number, clock: Clock) {
    super(sab, offset, spec);
    this.me = ownerId;
    this.now = clock;
  }

  /** Called once by the master on fresh (zeroed) memory. */
  initialise(): void {
    resetTable(this);
    Atomics.store(this.h, Hdr.Magic, MAGIC);
  }

  /** Is the cache memory initialised (magic present)? */
  get initialised(): boolean {
    return Atomics.load(this.h, Hdr.Magic) === MAGIC;
  }

  // ---- public operations -------------------------------------------------------------------

  get(key: Bytesish): string | undefined {
    const klen = this.key(key);
    this.lock();
    try {
      const s = this.lookup(klen);
      if (s < 0) return undefined;
      const b = this.it[s * ItemWords.I32 + Item.Block]! * this.spec.blocksize;
      return fromBytes(this.data8, b, this.it[s * ItemWords.I32 + Item.ValueLen]!);
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
      const b = this.it[s * ItemWords.I32 + Item.Block]! * this.spec.blocksize;
      return this.data8.slice(b, b + this.it[s * ItemWords.I32 + Item.ValueLen]!);
    } finally {
      this.unlock();
    }
  }

  has(key: Bytesish): boolean {
    const klen = this.key(key);
    this.lock();
    try {
      return this.findLive(klen, this.hashFn(this.kOut.bytes, klen)) >= 0;
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
      const s = findSlot(this, this.kOut.bytes, klen, this.hashFn(this.kOut.bytes, klen));
      if (s < 0) return false;
      const live = !isExpired(this, s, this.now());
      removeSlot(this, s);
      return live;
    } finally {
      this.unlock();
    }
  }

  clear(): void {
    this.lock();
    try {
      journalOp(this, Journal.Clear);
      resetTable(this);
      journalEnd(this);
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
        if (this.it[s * ItemWords.I32 + Item.Flags] !== 1 || isExpired(this, s, now)) continue;
        out.push(read(s * ks, this.it[s * ItemWords.I32 + Item.KeyLen]!));
      }
    } finally {
      this.unlock();
    }
    return out;
  }

  /** Number of stored entries (expired ones not yet swept included). */
  get size(): number {
    return Atomics.load(this.h, Hdr.Count);
  }

  /** The entry as a signed 64-bit integer, or undefined (missing). CACHE_NOT_A_NUMBER if not 8 bytes. */
  getNumber(key: Bytesish): bigint | undefined {
    const klen = this.key(key);
    this.lock();
    try {
      const s = this.lookup(klen);
      if (s < 0) return undefined;
      return readNumber(this, s, key);
    } finally {
      this.unlock();
    }
  }

  inc(key: Bytesish, by: bigint | number = 1n, opts?: SetOptions): bigint {
    return this.math(key, 'inc', by, opts);
  }
  dec(key: Bytesish, by: bigint | number = 1n, opts?: SetOptions): bigint {
    return this.math(key, 'dec', by, opts);
  }
  mul(key: Bytesish, by: bigint | number = 2n, opts?: SetOptions): bigint {
    return this.math(key, 'mul', by, opts);
  }
  div(key: Bytesish, by: bigint | number = 2n, opts?: SetOptions): bigint {
    return this.math(key, 'div', by, opts);
  }

  /** Remove expired entries. Never blocks: returns -1 if the cache is busy. */
  sweep(now = this.now()): number {
    if (!(this.f[HdrF.NextExpiry]! <= now)) return 0;
    if (!mutexTryLock(this.h, Hdr.Lock, this.me)) return -1;
    try {
      if (Atomics.exchange(this.h, Hdr.Lock + 1, 0) === 1 || journalOpen(this)) this.repair();
      return sweepExpired(this, now);
    } finally {
      this.unlock();
    }
  }

  stats(): CacheStats {
    const s = this.spec;
    return {
      name: s.name,
      items: Atomics.load(this.h, Hdr.Count),
      capacity: s.items,
      hits: this.f[HdrF.Hits]!,
      misses: this.f[HdrF.Misses]!,
      full: this.f[HdrF.Full]!,
      evictions: this.f[HdrF.Evictions]!,
      expired: this.f[HdrF.Expired]!,
      repairs: Atomics.load(this.h, Hdr.Repairs),
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
    return recoverMutex(this.h, Hdr.Lock, deadOwner);
  }

  /** Rebuild the table from the item headers (repair.ts). The caller holds the lock. */
  repair(): void {
    repairTable(this);
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

  private verifyLocked(): string[] {
    return tableProblems(this);
  }

  private lock(): void {
    if (mutexLock(this.h, Hdr.Lock, this.me) || journalOpen(this)) this.repair();
  }

  private unlock(): void {
    mutexUnlock(this.h, Hdr.Lock, this.me);
  }

  /** A TTL in seconds (0 = never expires), or undefined to keep the current one. */
  private checkTtl(ttl: number | undefined): number | undefined {
    if (ttl !== undefined && (typeof ttl !== 'number' || !(ttl >= 0) || !Number.isFinite(ttl))) {
      throw new SpindleRangeError('INVALID_ARGUMENT', `cache "${this.name}": ttl must be a finite number of seconds ≥ 0, got ${String(ttl)}`);
    }
    return ttl;
  }

  /** Encode the caller's key into kOut; returns its length. */
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

  /** The slot of the key in kOut, or -1; an expired match is deleted and counts as missing. */
  private findLive(klen: number, hash: number): number {
    const s = findSlot(this, this.kOut.bytes, klen, hash);
    return s >= 0 && dropIfExpired(this, s, this.now) ? -1 : s;
  }

  /** findLive + hit/miss accounting + LRU touch. */
  private lookup(klen: number): number {
    const s = this.findLive(klen, this.hashFn(this.kOut.bytes, klen));
    if (s < 0) {
      this.f[HdrF.Misses]!++;
      return -1;
    }
    this.f[HdrF.Hits]!++;
    if (this.spec.purgeLru) touch(this, s);
    return s;
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
      const expires = expiryFor(ttl, now);
      const s = this.findLive(klen, hash);
      if (s >= 0) {
        if (onlyIfAbsent) return false;
        return overwriteItem(this, s, this.vOut.bytes, vlen, expires, now);
      }
      return insertItem(this, this.kOut.bytes, klen, hash, this.vOut.bytes, vlen, expires < 0 ? 0 : expires, now);
    } finally {
      this.unlock();
    }
  }

  private math(key: Bytesish, op: MathOp, by: bigint | number, opts?: SetOptions): bigint {
    const d = mathOperand(this, by);
    const klen = this.key(key);
    const ttl = this.checkTtl(opts?.ttl);
    const hash = this.hashFn(this.kOut.bytes, klen);
    this.lock();
    try {
      const now = this.now();
      const expires = expiryFor(ttl, now);
      const s = this.findLive(klen, hash);
      const r = applyMath(this, op, s >= 0 ? readNumber(this, s, key) : this.spec.mathInitial, d);
      if (s >= 0) writeNumber(this, s, r, expires);
      else if (!insertItem(this, this.kOut.bytes, klen, hash, numberBytes(r), 8, expires < 0 ? 0 : expires, now)) {
        throw new SpindleError('CACHE_FULL', `cache "${this.name}" is full: cannot create math key (${this.spec.items} items)`);
      }
      return r;
    } finally {
      this.unlock();
    }
  }
}
