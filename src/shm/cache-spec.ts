// A shared cache's spec: its defaults, the rules between its fields and the memory it takes.
// The `cache2 = key=value,...` line is parsed into this shape by the config layer
// (src/config/cache2.ts).

import { SpindleError } from '../errors.js';

export type CacheHash = 'djb33x' | 'murmur2';

export interface CacheSpec {
  name: string;
  /** usable entries (uWSGI reserves slot 0 and gives items-1; we give exactly `items`). */
  items: number;
  /** bytes per data block; without bitmap also the maximum value size. */
  blocksize: number;
  /** number of data blocks; = items unless bitmap. */
  blocks: number;
  /** maximum key length in bytes. */
  keysize: number;
  /** values occupy runs of contiguous blocks; max value = blocks × blocksize. */
  bitmap: boolean;
  /** evict the least recently used entry when full (expiry keeps working, unlike uWSGI). */
  purgeLru: boolean;
  /** the master sweeper skips this cache; expired entries are removed when read. */
  lazyExpire: boolean;
  /** when full, sweep expired entries, at most once every N seconds (0 = off). */
  sweepOnFull: number;
  /** when full and nothing else freed room, delete everything. */
  clearOnFull: boolean;
  /** a write into a full cache returns false instead of throwing CACHE_FULL. */
  ignoreFull: boolean;
  /** initial value for inc/dec/mul/div on a missing key. */
  mathInitial: bigint;
  /** the master sweeper skips this cache (expired entries are still never returned). */
  noExpire: boolean;
  hash: CacheHash;
  /** number of hash buckets. */
  hashsize: number;
  /** file the cache is saved to (shutdown, full reload, store_sync) and restored from at start. */
  store?: string;
  /** also save every N seconds (0 = only at shutdown and full reload). */
  storeSync?: number;
  /** a store file that does not match (geometry changed, corrupt) is discarded instead of refused. */
  storeDelete?: boolean;
}

const MAX_BYTES = 2 ** 31 - 1; // typed-array offsets are int32 in our headers
const DEFAULT_BLOCKSIZE = 65536;
const DEFAULT_KEYSIZE = 2048;

function invalid(msg: string): never {
  throw new SpindleError('CONFIG_INVALID_VALUE', msg);
}

/** What a cache name may be (the cache2 line's name= and an object-form spec's name). */
export const CACHE_NAME_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Fill defaults and check cross-field rules of an object-form spec (also used by tests/fallback). */
export function normalizeCacheSpec(p: Partial<CacheSpec> & { name: string; items: number }, where = `cache "${p.name}"`): CacheSpec {
  const items = p.items;
  if (!Number.isInteger(items) || items < 1 || items > 1 << 24) invalid(`${where}: items=${items} must be 1..16777216`);
  const bitmap = p.bitmap ?? false;
  const blocks = p.blocks ?? items;
  if (p.blocks !== undefined && !bitmap && p.blocks !== items) {
    invalid(`${where}: blocks=${p.blocks} only makes sense with bitmap (without it every item owns exactly one block); add bitmap=1 or remove blocks`);
  }
  if (bitmap && blocks < 1) invalid(`${where}: blocks must be ≥ 1`);
  const spec: CacheSpec = {
    name: p.name,
    items,
    blocksize: p.blocksize ?? DEFAULT_BLOCKSIZE,
    blocks,
    keysize: p.keysize ?? DEFAULT_KEYSIZE,
    bitmap,
    purgeLru: p.purgeLru ?? false,
    lazyExpire: p.lazyExpire ?? false,
    sweepOnFull: p.sweepOnFull ?? 0,
    clearOnFull: p.clearOnFull ?? false,
    ignoreFull: p.ignoreFull ?? false,
    mathInitial: p.mathInitial ?? 0n,
    noExpire: p.noExpire ?? false,
    hash: p.hash ?? 'djb33x',
    hashsize: p.hashsize ?? Math.min(1 << 20, Math.max(64, nextPow2(items))),
    ...(p.store !== undefined ? { store: p.store, storeSync: p.storeSync ?? 0, storeDelete: p.storeDelete ?? false } : {}),
  };
  if (p.store === undefined && (p.storeSync || p.storeDelete)) {
    invalid(`${where}: store_sync and store_delete only make sense with store=FILE; add store or remove them`);
  }
  if (!CACHE_NAME_RE.test(spec.name)) invalid(`${where}: name=${JSON.stringify(spec.name)} must be 1..64 characters of A-Z a-z 0-9 _ . : -`);
  if (spec.keysize < 1 || spec.keysize > 65535) invalid(`${where}: keysize=${spec.keysize} must be 1..65535`);
  if (spec.blocksize < 1) invalid(`${where}: blocksize=${spec.blocksize} must be ≥ 1`);
  const data = spec.blocks * spec.blocksize;
  if (data > MAX_BYTES) {
    invalid(`${where}: blocks × blocksize = ${data} bytes exceeds the ${MAX_BYTES}-byte limit of one cache data area; lower items/blocks or blocksize`);
  }
  if (spec.items * spec.keysize > MAX_BYTES) {
    invalid(`${where}: items × keysize = ${spec.items * spec.keysize} bytes exceeds ${MAX_BYTES}; lower keysize`);
  }
  if (cacheMemoryBytes(spec) > MAX_BYTES) {
    invalid(`${where}: the cache needs ${cacheMemoryBytes(spec)} bytes, more than the ${MAX_BYTES}-byte limit`);
  }
  return spec;
}

/** Largest value the cache can store, in bytes. */
export function cacheMaxValueBytes(spec: CacheSpec): number {
  return spec.bitmap ? spec.blocks * spec.blocksize : spec.blocksize;
}

// ---- geometry (shared with cache/views.ts) ----------------------------------------------------

/** Int32 words of the cache header (see cache/views.ts). */
export const CACHE_HDR_I32 = 32;
/** Float64 words of the cache header. */
export const CACHE_HDR_F64 = 8;
/**
 * Words per item: Int32 (the item header) and Float64 (expires, stamp). A const enum, as the field
 * indexes in cache/views.ts: tsc writes the numbers into the hot paths, where an imported const
 * would cost a load and a hole check on each access.
 */
export const enum ItemWords {
  I32 = 10,
  F64 = 2,
}

const align8 = (n: number): number => (n + 7) & ~7;

export interface CacheGeometry {
  hdrI32: number;
  hdrF64: number;
  itemI32: number;
  itemF64: number;
  hashTable: number;
  freeStack: number;
  bitmap: number;
  keys: number;
  data: number;
  total: number;
}

/** Byte offsets of every region of one cache, relative to its start (all 8-aligned). */
export function cacheGeometry(spec: CacheSpec): CacheGeometry {
  let o = 0;
  const hdrI32 = o; o = align8(o + CACHE_HDR_I32 * 4);
  const hdrF64 = o; o = align8(o + CACHE_HDR_F64 * 8);
  const itemF64 = o; o = align8(o + spec.items * ItemWords.F64 * 8);
  const itemI32 = o; o = align8(o + spec.items * ItemWords.I32 * 4);
  const hashTable = o; o = align8(o + spec.hashsize * 4);
  const freeStack = o; o = align8(o + spec.items * 4);
  const bitmap = o; o = align8(o + (spec.bitmap ? Math.ceil(spec.blocks / 32) * 4 : 0));
  const keys = o; o = align8(o + spec.items * spec.keysize);
  const data = o; o = align8(o + spec.blocks * spec.blocksize);
  return { hdrI32, hdrF64, itemI32, itemF64, hashTable, freeStack, bitmap, keys, data, total: o };
}

/** Bytes of shared memory one cache takes (for the start-up report). */
export function cacheMemoryBytes(spec: CacheSpec): number {
  return cacheGeometry(spec).total;
}
