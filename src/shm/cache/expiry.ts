// Expiry: absolute epoch ms (Date.now(), or the injected clock) so every thread agrees; 0 = never.
// An expired entry is never returned (checked on every read, and deleted there); the master's
// periodic sweep (skipped for lazy_expire/no_expire caches) removes the rest. nextExpiry, the
// earliest expiry of any item, lets the sweep return at once when nothing can have expired.

import { removeSlot } from './table.js';
import { type CacheViews, ItemWords, Item, ItemF, HdrF } from './views.js';

/** The expiry a write stores for a TTL in seconds: 0 = never, -1 = keep the item's current one. */
export function expiryFor(ttl: number | undefined, now: number): number {
  return ttl === undefined ? -1 : ttl === 0 ? 0 : now + ttl * 1000;
}

export function isExpired(v: CacheViews, s: number, now: number): boolean {
  const e = v.ie[s * ItemWords.F64 + ItemF.Expires]!;
  return e !== 0 && e <= now;
}

export function setExpiry(v: CacheViews, s: number, expires: number): void {
  v.ie[s * ItemWords.F64 + ItemF.Expires] = expires;
  if (expires !== 0 && expires < v.f[HdrF.NextExpiry]!) v.f[HdrF.NextExpiry] = expires;
}

/** A read found item s: if it has expired, delete it (counted) and return true. Reads the clock only for items with an expiry. */
export function dropIfExpired(v: CacheViews, s: number, clock: () => number): boolean {
  if (v.ie[s * ItemWords.F64 + ItemF.Expires] === 0 || !isExpired(v, s, clock())) return false;
  removeSlot(v, s);
  v.f[HdrF.Expired]!++;
  return true;
}

/** Remove every expired item (the lock is held) and recompute nextExpiry. Returns how many. */
export function sweepExpired(v: CacheViews, now: number): number {
  let removed = 0;
  let next = Infinity;
  for (let s = 0; s < v.spec.items; s++) {
    if (v.it[s * ItemWords.I32 + Item.Flags] !== 1) continue;
    const e = v.ie[s * ItemWords.F64 + ItemF.Expires]!;
    if (e === 0) continue;
    if (e <= now) {
      removeSlot(v, s);
      removed++;
    } else if (e < next) next = e;
  }
  v.f[HdrF.NextExpiry] = next;
  v.f[HdrF.Expired] = v.f[HdrF.Expired]! + removed;
  return removed;
}
