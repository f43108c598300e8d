// cache2 lines: one `cache2 = key=value,...` line (split by the kvlist parser) into a CacheSpec.
//
// Every key is checked; unlike uWSGI an unknown key, a malformed number or an impossible
// combination is an error that names the key, the value and the known keys. Flags take the
// booleans every bool option takes, or an empty value (a bare `bitmap` means on); uWSGI's
// "bitmap=0 enables bitmap" quirk is NOT copied. The spec's defaults and the rules between its
// fields belong to the shared-memory core (normalizeCacheSpec in src/shm/cache-spec.ts).
import { SpindleError } from '../errors.js';
import { CACHE_NAME_RE, normalizeCacheSpec, type CacheSpec } from '../shm/cache-spec.js';
import { suggest } from './suggest.js';
import { boolWord } from './bool.js';

interface KeyDef {
  canonical: keyof CacheSpec;
  kind: 'string' | 'int' | 'flag' | 'hash' | 'bigint' | 'path';
  min?: number;
  max?: number;
}

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

function invalid(msg: string): never {
  throw new SpindleError('CONFIG_INVALID_VALUE', msg);
}

/** A flag key: a boolean as every bool option takes it, or empty (a bare `bitmap` means on). */
function parseFlag(key: string, v: string, where: string): boolean {
  return (v.trim() === '' ? true : boolWord(v))
    ?? invalid(`${where}: ${key}=${JSON.stringify(v)} is not a flag; use true/false (1/0, yes/no, on/off)`);
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
        if (!CACHE_NAME_RE.test(v)) {
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

/** The `parse` hook of the cache2 option: the cache's spec; throws CONFIG_INVALID_VALUE with the reason (a near key named). */
export function parseCache2(entry: Record<string, string>): CacheSpec {
  for (const key of Object.keys(entry)) {
    if (CACHE_SPEC_KEYS.includes(key)) continue;
    const close = suggest(key, CACHE_SPEC_KEYS);
    if (close.length) invalid(`unknown cache2 key '${key}' (did you mean ${close.join(', ')}?)`);
  }
  return parseCacheSpec(entry);
}

/** Cache names must be unique across all cache2 entries. */
export function checkCache2Names(entries: Record<string, string>[]): string | undefined {
  const names = entries.map((e) => e['name']).filter((n): n is string => !!n);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  return dup ? `cache2 name '${dup}' is used twice` : undefined;
}
