// The runtime registry behind `import { cache, lock, counter } from 'spindle'`.
//
// Inside Spindle the worker entry (and the master) call `installSharedCore(handleOrCore)` before
// the application is loaded; every API call then goes to the shared memory. Outside Spindle (a
// plain `node` process, an app's own unit tests) the first API call creates a private in-process
// core, so the same code runs unchanged — no try/catch-import dance. Its geometry (LOCAL_DEFAULTS):
// a default cache of 1000 items (bitmap mode, 4096 × 1 KiB blocks, so values up to 4 MiB share
// 4 MiB of data; keysize 2048 — about 6.6 MB, allocated on first use), locks 0..255, 1024 counters.
// Any other cache name used outside Spindle is created on first use with the same geometry.
// `configureLocalCore(spec)` replaces that geometry (e.g. to mirror the app's cache2 lines in tests).

import { threadId } from 'node:worker_threads';
import { createSharedCore, attachSharedCore, SharedCore, type CoreSpec, type SharedCoreHandle } from '../shm/layout.js';
import { normalizeCacheSpec, type CacheSpec } from '../shm/cache-spec.js';
import type { SharedCache, Clock } from '../shm/cache/index.js';

export const LOCAL_DEFAULTS: { cache: Omit<CacheSpec, 'name'>; locks: number; counters: number } = {
  cache: normalizeCacheSpec({ name: 'default', items: 1000, blocksize: 1024, blocks: 4096, bitmap: true, keysize: 2048 }),
  locks: 255,
  counters: 1024,
};

let installed: SharedCore | undefined;
let local: SharedCore | undefined;
let localClock: Clock | undefined;
const localExtra = new Map<string, SharedCache>();

/** Inside Spindle: make `core` (or the core behind `handle`) the backing of the runtime API. */
export function installSharedCore(coreOrHandle: SharedCore | SharedCoreHandle): SharedCore {
  installed = coreOrHandle instanceof SharedCore ? coreOrHandle : attachSharedCore(coreOrHandle, { threadId });
  return installed;
}

/** True when running inside a Spindle server (a shared core was installed in this thread). */
export function isInsideSpindle(): boolean {
  return installed !== undefined;
}

/**
 * Outside Spindle: replace the private in-process core (its caches, locks and counters start
 * empty). `clock` (epoch ms) is for tests of expiry. Throws inside Spindle.
 */
export function configureLocalCore(
  spec: Partial<Omit<CoreSpec, 'caches'>> & { caches?: (Partial<CacheSpec> & { name: string; items: number })[] } = {},
  opts: { clock?: Clock } = {},
): SharedCore {
  localClock = opts.clock;
  localExtra.clear();
  local = createSharedCore(
    {
      workerSlots: spec.workerSlots ?? 0,
      muleSlots: spec.muleSlots ?? 0,
      locks: spec.locks ?? LOCAL_DEFAULTS.locks,
      counters: spec.counters ?? { max: LOCAL_DEFAULTS.counters, declared: [] },
      caches: (spec.caches ?? [{ ...LOCAL_DEFAULTS.cache, name: 'default' }]).map((c) => normalizeCacheSpec(c)),
    },
    { threadId, clock: opts.clock },
  );
  return local;
}

/** The core the API uses in this thread: the installed one, or the private local one. */
export function currentCore(): SharedCore {
  return installed ?? local ?? configureLocalCore();
}

/** Resolve a cache by name (undefined = the default cache). */
export function resolveCache(name?: string): SharedCache {
  if (installed) return installed.cache(name);
  const core = currentCore();
  if (name === undefined || core.caches.some((c) => c.name === name)) return core.cache(name);
  let c = localExtra.get(name);
  if (!c) {
    const one = createSharedCore(
      { workerSlots: 0, muleSlots: 0, locks: 0, counters: { max: 0, declared: [] }, caches: [{ ...LOCAL_DEFAULTS.cache, name }] },
      { threadId, clock: localClock },
    );
    c = one.cache(name);
    localExtra.set(name, c);
  }
  return c;
}

/** Test hook: forget the installed and local cores. */
export function resetRuntimeForTests(): void {
  installed = undefined;
  local = undefined;
  localClock = undefined;
  localExtra.clear();
}
