// Parsing of `cache2` entries. The shared-memory core owns the cache2 keys and their rules
// (src/shm/cache-spec.ts); the option table's parse hook asks it, so there is one list of keys.
import { parseCacheSpec, CACHE_SPEC_KEYS, type CacheSpec } from '../shm/cache-spec.js';
import { suggest } from './suggest.js';

/** The `parse` hook of the cache2 option: the cache's spec; throws with the reason (a near key named). */
export function parseCache2(entry: Record<string, string>): CacheSpec {
  for (const key of Object.keys(entry)) {
    if (CACHE_SPEC_KEYS.includes(key)) continue;
    const close = suggest(key, CACHE_SPEC_KEYS);
    if (close.length) throw new Error(`unknown cache2 key '${key}' (did you mean ${close.join(', ')}?)`);
  }
  return parseCacheSpec(entry);
}

/** Cache names must be unique across all cache2 entries. */
export function checkCache2Names(entries: Record<string, string>[]): string | undefined {
  const names = entries.map((e) => e['name']).filter((n): n is string => !!n);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  return dup ? `cache2 name '${dup}' is used twice` : undefined;
}
