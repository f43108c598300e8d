// Semantic validation of one `cache2` entry (already parsed into key/value pairs).
//
// PLACE FOR THE SHARED-MEMORY ENGINEER: this is the `check` hook of the cache2 option in options.ts.
// Refine the key list and rules here as the cache lands (e.g. limits derived from the shm layout).
// Return an error text naming the key and the rule, or undefined when the entry is valid.
// Unlike uWSGI (which silently ignores unknown keys), unknown keys are errors.
import { suggest } from './suggest.js';

/** Known cache2 keys (uWSGI 2.0 names) and their aliases → canonical key. */
export const CACHE2_KEYS: Record<string, string> = {
  name: 'name',
  items: 'items', max_items: 'items', maxitems: 'items',
  blocksize: 'blocksize',
  blocks: 'blocks',
  keysize: 'keysize', key_size: 'keysize',
  hash: 'hash',
  hashsize: 'hashsize', hash_size: 'hashsize',
  bitmap: 'bitmap',
  store: 'store',
  store_sync: 'store_sync', storesync: 'store_sync',
  store_delete: 'store_delete', storedelete: 'store_delete',
  node: 'node', nodes: 'node',
  udp: 'udp', udp_server: 'udp', udp_servers: 'udp', udpserver: 'udp', udpservers: 'udp',
  sync: 'sync',
  lastmod: 'lastmod',
  math_initial: 'math_initial',
  ignore_full: 'ignore_full',
  purge_lru: 'purge_lru', lru: 'purge_lru',
  lazy_expire: 'lazy_expire', lazy: 'lazy_expire',
  sweep_on_full: 'sweep_on_full',
  clear_on_full: 'clear_on_full',
  no_expire: 'no_expire',
};

const INTEGER_KEYS = new Set(['items', 'blocksize', 'blocks', 'keysize', 'hashsize', 'store_sync', 'sweep_on_full']);

export function checkCache2(entry: Record<string, string>): string | undefined {
  const errors: string[] = [];
  const seen = new Map<string, string>();
  for (const [key, value] of Object.entries(entry)) {
    const canon = CACHE2_KEYS[key];
    if (!canon) {
      const s = suggest(key, Object.keys(CACHE2_KEYS));
      errors.push(`unknown cache2 key '${key}'${s.length ? ` (did you mean ${s.join(', ')}?)` : ''}`);
      continue;
    }
    if (seen.has(canon)) errors.push(`cache2 key '${key}' repeats '${seen.get(canon)}'`);
    seen.set(canon, key);
    if (INTEGER_KEYS.has(canon) && !/^\d+$/.test(value)) {
      errors.push(`cache2 ${key}=${value}: expected a non-negative integer`);
    }
  }
  const get = (k: string) => {
    for (const [key, v] of Object.entries(entry)) if (CACHE2_KEYS[key] === k) return v;
    return undefined;
  };
  if (!get('name')) errors.push("cache2 needs name=NAME");
  const items = get('items');
  if (items === undefined) errors.push('cache2 needs items=N');
  else if (/^\d+$/.test(items) && Number(items) < 1) errors.push('cache2 items must be at least 1');
  const keysize = get('keysize');
  if (keysize !== undefined && /^\d+$/.test(keysize) && (Number(keysize) < 1 || Number(keysize) > 65535)) {
    errors.push(`cache2 keysize=${keysize}: expected 1..65535`);
  }
  const hash = get('hash');
  if (hash !== undefined && !['djb33x', 'murmur2'].includes(hash)) {
    errors.push(`cache2 hash=${hash}: expected djb33x or murmur2`);
  }
  return errors.length ? errors.join('; ') : undefined;
}

/** Cache names must be unique across all cache2 entries. */
export function checkCache2Names(entries: Record<string, string>[]): string | undefined {
  const names = entries.map((e) => e['name']).filter((n): n is string => !!n);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  return dup ? `cache2 name '${dup}' is used twice` : undefined;
}
