// Snapshot and restore of one cache region (cache2 `store`). Plain TypeScript, no node: imports;
// the file format and I/O live in src/master/cache-stores.ts.
//
// A snapshot is a byte copy of the cache's whole region taken under the cache's lock (try-lock:
// the master never blocks on a cache lock; the caller retries). A restore copies the bytes back —
// except the lock words, which belong to this process — and then rebuilds every derived structure
// (hash chains, free stack, LRU list, bitmap, count) from the item headers with the cache's own
// repair(), which also validates every item. Expiry times are epoch milliseconds, so they keep
// their meaning in another process.
import { CACHE_HDR_I32, ItemWords, cacheGeometry } from './cache-spec.js';
import { Hdr } from './cache/views.js';
import type { SharedCore } from './layout.js';
import { cacheRegionOffsets } from './layout.js';
import { MUTEX_WORDS, mutexTryLock, mutexUnlock, ownerIdOf } from './mutex.js';

const LOCK_BYTES = MUTEX_WORDS * 4;

function region(core: SharedCore, index: number): { bytes: Uint8Array; hdr: Int32Array } {
  const spec = core.handle.spec.caches[index];
  if (!spec) throw new RangeError(`no cache #${index}`); // the master's own index: a bug, not a user's error
  const at = cacheRegionOffsets(core.handle.spec)[index]!;
  const cache = core.caches[index]!;
  return {
    bytes: new Uint8Array(core.handle.sab, at, cache.memoryBytes),
    hdr: new Int32Array(core.handle.sab, at, CACHE_HDR_I32),
  };
}

/** A copy of cache #index, or null when another thread holds its lock right now (retry). */
export function trySnapshotCache(core: SharedCore, index: number): Uint8Array | null {
  const { bytes, hdr } = region(core, index);
  const me = ownerIdOf(core.threadId);
  if (!mutexTryLock(hdr, 0, me)) return null;
  try {
    return bytes.slice();
  } finally {
    mutexUnlock(hdr, 0, me);
  }
}

/**
 * Puts a snapshot back into cache #index (same geometry: the caller checked). Returns the number of
 * entries in the snapshot and the number kept (entries that do not validate are dropped), or null
 * when the lock is busy (retry).
 */
export function tryRestoreCache(core: SharedCore, index: number, snapshot: Uint8Array): { saved: number; kept: number } | null {
  const { bytes, hdr } = region(core, index);
  if (snapshot.byteLength !== bytes.byteLength) { // the caller checked the geometry first: a bug if this fails
    throw new RangeError(`snapshot of ${snapshot.byteLength} bytes for a cache region of ${bytes.byteLength}`);
  }
  const cache = core.caches[index]!;
  const me = ownerIdOf(core.threadId);
  if (!mutexTryLock(hdr, 0, me)) return null;
  try {
    bytes.set(snapshot.subarray(LOCK_BYTES), LOCK_BYTES);
    const repairs = Atomics.load(hdr, Hdr.Repairs); // a restore is not a repair
    // flags (1 = in use) is the first word of each item header
    const at = cacheGeometry(cache.spec).itemI32;
    const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
    let saved = 0;
    for (let s = 0; s < cache.spec.items; s++) if (view.getInt32(at + s * ItemWords.I32 * 4, true) === 1) saved++;
    cache.repair();
    Atomics.store(hdr, Hdr.Repairs, repairs);
    return { saved, kept: cache.stats().items };
  } finally {
    mutexUnlock(hdr, 0, me);
  }
}
