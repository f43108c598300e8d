// `cache()` / `cache('name')` for applications: the first configured cache is the default.
// See src/shm/cache/shared-cache.ts for the semantics of every method.

import type { SharedCache } from '../shm/cache/index.js';
import { resolveCache } from './runtime.js';

export type { CacheStats, SetOptions } from '../shm/cache/index.js';
export type { Bytesish as CacheKey } from '../shm/bytes.js';

/**
 * A shared cache. Keys and values are strings (UTF-8) or Uint8Array; empty values are allowed.
 * - get(key) → string | undefined; getBytes(key) → Uint8Array | undefined (a copy)
 * - set(key, value, { ttl? }) → true: insert or overwrite. ttl in seconds (0 = never); without ttl
 *   a new entry never expires and an update keeps the entry's expiry. Returns false only when the
 *   cache is full and has ignore_full.
 * - add(key, value, { ttl? }) → boolean: insert only if absent (uWSGI cache_set)
 * - has, delete → boolean, clear(), keys() → string[] (UTF-8), keysBytes() → Uint8Array[] (exact,
 *   for binary keys), size (entries incl. not-yet-swept expired)
 * - inc/dec/mul/div(key, by = 1|1|2|2, { ttl? }) → bigint: atomic signed 64-bit math, wrapping
 *   on overflow; a missing key starts from math_initial; a value that is not 8 bytes throws
 *   CACHE_NOT_A_NUMBER; division by zero throws RangeError (uWSGI silently yields 0).
 *   getNumber(key) → bigint | undefined
 * - stats() → items, capacity, hits, misses, full, evictions, expired, repairs, memoryBytes, …
 * Errors: CACHE_KEY_TOO_LONG, CACHE_VALUE_TOO_LARGE, CACHE_FULL (name, size, limit), CACHE_UNKNOWN.
 */
export type Cache = Pick<
  SharedCache,
  | 'name'
  | 'get'
  | 'getBytes'
  | 'getNumber'
  | 'set'
  | 'add'
  | 'has'
  | 'delete'
  | 'clear'
  | 'keys'
  | 'keysBytes'
  | 'size'
  | 'inc'
  | 'dec'
  | 'mul'
  | 'div'
  | 'stats'
  | 'maxValueBytes'
>;

/** The cache `name`, or the default (first configured) cache. */
export function cache(name?: string): Cache {
  return resolveCache(name);
}
