// Validation of `cache2` entries. The shared-memory core owns the cache2 keys and their rules
// (src/shm/cache-spec.ts); the option table's check hook asks it, so there is one list of keys.
import { parseCacheSpec, CACHE_SPEC_KEYS } from '../shm/cache-spec.js';
import { suggest } from './suggest.js';

/** The `check` hook of the cache2 option: an error text, or undefined when the entry is valid. */
export function checkCache2(entry: Record<string, string>): string | undefined {
  for (const key of Object.keys(entry)) {
    if (CACHE_SPEC_KEYS.includes(key)) continue;
    const close = suggest(key, CACHE_SPEC_KEYS);
    if (close.length) return `unknown cache2 key '${key}' (did you mean ${close.join(', ')}?)`;
  }
  try {
    parseCacheSpec(entry);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Cache names must be unique across all cache2 entries. */
export function checkCache2Names(entries: Record<string, string>[]): string | undefined {
  const names = entries.map((e) => e['name']).filter((n): n is string => !!n);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  return dup ? `cache2 name '${dup}' is used twice` : undefined;
}
