// cache2 options: validation of one `cache2 = key=value,...` line and the memory it takes.
//
// The config layer splits the line and hands us Record<string,string>. Every key is checked;
// unlike uWSGI an unknown key, a malformed number or an impossible combination is an error that
// names the key, the value and the known keys. Flags accept true/false/1/0/yes/no/on/off or an
// empty value (a bare `bitmap` means on); uWSGI's "bitmap=0 enables bitmap" quirk is NOT copied.

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

interface KeyDef {
  canonical: keyof CacheSpec;
  kind: 'string' | 'int' | 'flag' | 'hash' | 'bigint' | 'path';
  min?: number;
  max?: number;
}

const MAX_BYTES = 2 ** 31 - 1; // typed-array offsets are int32 in our headers

const KEYS: Record<string, KeyDef> = {
  name: { canonical: 'name', kind: 'string' },
  items: { canonical: 'items', kind: 'int', min: 1, max: 1 << 24 },
  max_items: { canonical: 'items', kind: 'int', min: 1, max: 1 << 24 },
  maxitems: { canonical: 'items', kind: 'int', min: 1, max: 1 << 24 },
  blocksize: { canonical: 'blocksize', kind: 'int', min: 1, max: 1 << 30 },
  blocks: { canonical: 'blocks', kind: 'int', min: 1, max: 1 << 28 },
  keysize: { canonical: 'keysize', kind: 'int', min: 1, max: 65535 },
  key_size: { canonical: 'keysize', kind: 'int', min: 1, max: 65535 },
  bitmap: { canonical: 'bitmap', kind: 'flag' },
  purge_lru: { canonical: 'purgeLru', kind: 'flag' },
  lru: { canonical: 'purgeLru', kind: 'flag' },
  lazy_expire: { canonical: 'lazyExpire', kind: 'flag' },
  lazy: { canonical: 'lazyExpire', kind: 'flag' },
  sweep_on_full: { canonical: 'sweepOnFull', kind: 'int', min: 0, max: 86400 * 365 },
  clear_on_full: { canonical: 'clearOnFull', kind: 'flag' },
  ignore_full: { canonical: 'ignoreFull', kind: 'flag' },
  math_initial: { canonical: 'mathInitial', kind: 'bigint' },
  no_expire: { canonical: 'noExpire', kind: 'flag' },
  hash: { canonical: 'hash', kind: 'hash' },
  hashsize: { canonical: 'hashsize', kind: 'int', min: 1, max: 1 << 24 },
  hash_size: { canonical: 'hashsize', kind: 'int', min: 1, max: 1 << 24 },
  store: { canonical: 'store', kind: 'path' },
  store_sync: { canonical: 'storeSync', kind: 'int', min: 0, max: 86400 * 365 },
  storesync: { canonical: 'storeSync', kind: 'int', min: 0, max: 86400 * 365 },
  store_delete: { canonical: 'storeDelete', kind: 'flag' },
  storedelete: { canonical: 'storeDelete', kind: 'flag' },
};

/** Keys uWSGI has that make no sense here: rejected with the reason. */
const UNSUPPORTED: Record<string, string> = {
  node: 'UDP cache replication is not supported',
  nodes: 'UDP cache replication is not supported',
  udp: 'UDP cache replication is not supported',
  udp_server: 'UDP cache replication is not supported',
  udp_servers: 'UDP cache replication is not supported',
  udpserver: 'UDP cache replication is not supported',
  udpservers: 'UDP cache replication is not supported',
  sync: 'cache sync from another instance is not supported',
  lastmod: 'last-modified tracking is not supported',
};

export const CACHE_SPEC_KEYS: readonly string[] = Object.keys(KEYS);
const DEFAULT_BLOCKSIZE = 65536;
const DEFAULT_KEYSIZE = 2048;

function invalid(msg: string): never {
  throw new SpindleError('CONFIG_INVALID_VALUE', msg);
}

const NAME_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

function parseFlag(key: string, v: string, where: string): boolean {
  const s = v.trim().toLowerCase();
  if (s === '' || s === '1' || s === 'true' || s === 'yes' || s === 'on') return true;
  if (s === '0' || s === 'false' || s === 'no' || s === 'off') return false;
  return invalid(`${where}: ${key}=${JSON.stringify(v)} is not a flag; use true/false (1/0, yes/no, on/off)`);
}

function parseInt10(key: string, v: string, def: KeyDef, where: string): number {
  const s = v.trim();
  if (!/^\d+$/.test(s)) {
    invalid(`${where}: ${key}=${JSON.stringify(v)} is not a whole number (plain digits; no units or signs)`);
  }
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < (def.min ?? 0) || n > (def.max ?? Number.MAX_SAFE_INTEGER)) {
    invalid(`${where}: ${key}=${s} is out of range ${def.min ?? 0}..${def.max}`);
  }
  return n;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Validate one cache2 line. Throws SpindleError('CONFIG_INVALID_VALUE') naming the key, the value
 * and the known keys. Defaults: blocksize 65536, keysize 2048, blocks = items, hash djb33x,
 * hashsize = the power of two ≥ items, clamped to 64..1,048,576 (uWSGI: always 65536).
 */
export function parseCacheSpec(fields: Record<string, string>): CacheSpec {
  const seen = new Map<keyof CacheSpec, string>();
  const rawName = fields['name'];
  const where = `cache2${typeof rawName === 'string' ? ` "${rawName}"` : ''}`;
  const out: Partial<CacheSpec> = {};
  for (const [k0, v] of Object.entries(fields)) {
    const k = k0.trim().toLowerCase().replace(/-/g, '_');
    const def = KEYS[k];
    if (!def) {
      const why = UNSUPPORTED[k];
      if (why) invalid(`${where}: key "${k0}" (=${JSON.stringify(v)}) is not supported: ${why}`);
      invalid(`${where}: unknown key "${k0}" (=${JSON.stringify(v)}); known keys: ${CACHE_SPEC_KEYS.join(', ')}`);
    }
    if (typeof v !== 'string') invalid(`${where}: ${k0} must be a string value, got ${typeof v}`);
    const prev = seen.get(def.canonical);
    if (prev !== undefined) invalid(`${where}: "${k0}" repeats "${prev}"; give it once`);
    seen.set(def.canonical, k0);
    switch (def.kind) {
      case 'string':
        if (!NAME_RE.test(v)) {
          invalid(`${where}: name=${JSON.stringify(v)} must be 1..64 characters of A-Z a-z 0-9 _ . : -`);
        }
        out.name = v;
        break;
      case 'int':
        (out as Record<string, unknown>)[def.canonical] = parseInt10(k0, v, def, where);
        break;
      case 'path':
        if (v.trim() === '') invalid(`${where}: ${k0} needs a file path (store=/var/lib/app/cache.store)`);
        out.store = v.trim();
        break;
      case 'flag':
        (out as Record<string, unknown>)[def.canonical] = parseFlag(k0, v, where);
        break;
      case 'bigint': {
        const s = v.trim();
        if (!/^-?\d+$/.test(s)) invalid(`${where}: ${k0}=${JSON.stringify(v)} is not an integer`);
        const b = BigInt(s);
        if (b !== BigInt.asIntN(64, b)) invalid(`${where}: ${k0}=${s} does not fit a signed 64-bit integer`);
        out.mathInitial = b;
        break;
      }
      case 'hash': {
        const s = v.trim().toLowerCase();
        if (s !== 'djb33x' && s !== 'murmur2') {
          invalid(`${where}: hash=${JSON.stringify(v)} is not a known hash; use djb33x or murmur2`);
        }
        out.hash = s;
        break;
      }
    }
  }
  if (out.name === undefined) invalid(`${where}: name is required (e.g. cache2 = name=mycache,items=1000)`);
  if (out.items === undefined) invalid(`${where}: items is required (the number of entries the cache holds)`);
  return normalizeCacheSpec(out as Partial<CacheSpec> & { name: string; items: number }, where);
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
  if (!NAME_RE.test(spec.name)) invalid(`${where}: name=${JSON.stringify(spec.name)} must be 1..64 characters of A-Z a-z 0-9 _ . : -`);
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
/** Int32 words per item header. */
export const ITEM_I32 = 10;
/** Float64 words per item: expires (epoch ms, 0 = never), stamp (LRU order). */
export const ITEM_F64 = 2;

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
  const itemF64 = o; o = align8(o + spec.items * ITEM_F64 * 8);
  const itemI32 = o; o = align8(o + spec.items * ITEM_I32 * 4);
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
