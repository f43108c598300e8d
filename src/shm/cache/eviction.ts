// What a full cache does before a write gives up: (1) drop expired entries (at most once per
// sweep_on_full seconds when that is set), (2) evict least recently used entries (purge_lru),
// (3) delete everything (clear_on_full). Unlike uWSGI, expiry also works with purge_lru.

import { sweepExpired } from './expiry.js';
import { lruOldest } from './lru.js';
import { removeSlot } from './table.js';
import { type CacheViews, ItemWords, Item, HdrF } from './views.js';

/**
 * Count a full event, then free room until `fits()` says there is enough. `protect` (a slot, or
 * -1) is never evicted. Returns whether it fits now.
 */
export function makeRoom(v: CacheViews, now: number, fits: () => boolean, protect = -1): boolean {
  const f = v.f;
  f[HdrF.Full]!++;
  const spec = v.spec;
  if (f[HdrF.NextExpiry]! <= now && (spec.sweepOnFull === 0 || now - f[HdrF.LastSweep]! >= spec.sweepOnFull * 1000)) {
    f[HdrF.LastSweep] = now;
    sweepExpired(v, now);
    if (fits()) return true;
  }
  if (spec.purgeLru) {
    while (!fits()) {
      const p = lruOldest(v, protect);
      if (p === 0) break;
      removeSlot(v, p - 1);
      f[HdrF.Evictions]!++;
    }
    if (fits()) return true;
  }
  if (spec.clearOnFull) {
    for (let s = 0; s < spec.items; s++) if (s !== protect && v.it[s * ItemWords.I32 + Item.Flags] === 1) removeSlot(v, s);
    return fits();
  }
  return false;
}
