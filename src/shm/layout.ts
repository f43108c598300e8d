// The shared core: ONE SharedArrayBuffer holding, in order (every region 8-byte aligned):
//
//   header      16 × i32: magic, layout version, total bytes, region count
//   scoreboard  (workerSlots + muleSlots) × (16 f64 + 32 i32)           scoreboard.ts
//   user locks  (locks + 1) × 4 i32 (robust mutex records)              locks.ts / mutex.ts
//   counters    header + max × (len + 64-byte name) + max × i64          counters.ts
//   caches      one region per cache2 line, in configuration order      cache/*.ts, cache-spec.ts
//
// The master calls `createSharedCore(spec)` once; it allocates and initialises the buffer and
// returns its own attachment plus `core.handle`, a structured-cloneable object (the SAB keeps its
// identity through workerData/postMessage). Every other thread calls `attachSharedCore(handle,
// { threadId })`. Offsets are recomputed from the spec on both sides, so the handle carries only the
// buffer and the spec. Plain TypeScript, no node: imports.

import { errorMessage, SpindleError, SpindleTypeError } from '../errors.js';
import { SharedCache, type Clock } from './cache/index.js';
import { type CacheSpec, cacheMemoryBytes, normalizeCacheSpec } from './cache-spec.js';
import { Counters, counterRegionBytes, COUNTER_NAME_BYTES } from './counters.js';
import { UserLocks, lockRegionBytes } from './locks.js';
import { ownerIdOf } from './mutex.js';
import { Scoreboard, scoreboardBytes } from './scoreboard.js';

export interface CoreSpec {
  workerSlots: number;
  muleSlots: number;
  caches: CacheSpec[];
  /** user locks 0..locks inclusive (uWSGI `locks = N`) */
  locks: number;
  counters: { max: number; declared: string[] };
}

export interface SharedCoreHandle {
  readonly kind: 'spindle-shm';
  readonly version: number;
  readonly sab: SharedArrayBuffer;
  readonly spec: CoreSpec;
}

export interface AttachOptions {
  /** node:worker_threads threadId of the calling thread (0 = main thread). */
  threadId: number;
  /** epoch-ms clock used for cache expiry (injectable for tests). Default Date.now. */
  clock?: Clock;
}

export interface MemoryReport {
  total: number;
  scoreboard: number;
  locks: number;
  counters: number;
  caches: { name: string; bytes: number }[];
}

export interface ThreadExitReport {
  threadId: number;
  locks: number[];
  caches: string[];
  counterTable: boolean;
}

const MAGIC = 0x53504e44; // "SPND"
const VERSION = 1;
const HEADER_BYTES = 64;
const align8 = (n: number): number => (n + 7) & ~7;

interface Offsets {
  scoreboard: number;
  locks: number;
  counters: number;
  caches: number[];
  total: number;
}

function offsets(spec: CoreSpec): Offsets {
  let o = HEADER_BYTES;
  const scoreboard = o; o = align8(o + scoreboardBytes(spec.workerSlots + spec.muleSlots));
  const locks = o; o = align8(o + lockRegionBytes(spec.locks));
  const counters = o; o = align8(o + counterRegionBytes(spec.counters.max));
  const caches: number[] = [];
  for (const c of spec.caches) {
    caches.push(o);
    o = align8(o + cacheMemoryBytes(c));
  }
  return { scoreboard, locks, counters, caches, total: o };
}

/** Byte offset of every cache region in the core's buffer, in configuration order (cache-store.ts). */
export function cacheRegionOffsets(spec: CoreSpec): number[] {
  return offsets(spec).caches;
}

function bad(msg: string): never {
  throw new SpindleError('CONFIG_INVALID_VALUE', msg);
}

/** Check and normalise a core spec (throws CONFIG_INVALID_VALUE). */
function normalizeCoreSpec(spec: CoreSpec): CoreSpec {
  const int = (v: unknown, name: string, min: number, max: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${name}=${String(v)} must be an integer ${min}..${max}`);
    return v;
  };
  const workerSlots = int(spec.workerSlots, 'workerSlots', 0, 65536);
  const muleSlots = int(spec.muleSlots, 'muleSlots', 0, 65536);
  const locks = int(spec.locks, 'locks', 0, 1 << 20);
  const max = int(spec.counters?.max, 'counters.max', 0, 1 << 20);
  const declared = [...new Set(spec.counters?.declared ?? [])];
  if (declared.length > max) bad(`${declared.length} counters declared but the counter capacity is ${max}`);
  for (const d of declared) {
    if (typeof d !== 'string' || d === '' || new TextEncoder().encode(d).length > COUNTER_NAME_BYTES) {
      bad(`counter name ${JSON.stringify(d)} must be 1..${COUNTER_NAME_BYTES} UTF-8 bytes`);
    }
  }
  const names = new Set<string>();
  const caches = spec.caches.map((c) => {
    const n = normalizeCacheSpec(c);
    if (names.has(n.name)) bad(`cache2 name "${n.name}" is used twice; cache names must be unique`);
    names.add(n.name);
    return n;
  });
  const out: CoreSpec = { workerSlots, muleSlots, locks, counters: { max, declared }, caches };
  const total = offsets(out).total;
  if (total > 2 ** 31 - 1) bad(`the shared memory would need ${total} bytes; the limit is 2 GiB - 1`);
  return out;
}

function coreMemoryReport(spec: CoreSpec): MemoryReport {
  const o = offsets(spec);
  return {
    total: o.total,
    scoreboard: scoreboardBytes(spec.workerSlots + spec.muleSlots),
    locks: lockRegionBytes(spec.locks),
    counters: counterRegionBytes(spec.counters.max),
    caches: spec.caches.map((c) => ({ name: c.name, bytes: cacheMemoryBytes(c) })),
  };
}

/** One thread's view of the shared core. */
export class SharedCore {
  readonly handle: SharedCoreHandle;
  readonly threadId: number;
  readonly scoreboard: Scoreboard;
  readonly locks: UserLocks;
  readonly counters: Counters;
  readonly caches: readonly SharedCache[];
  private readonly byName = new Map<string, SharedCache>();

  constructor(handle: SharedCoreHandle, opts: AttachOptions) {
    if (!handle || handle.kind !== 'spindle-shm' || !(handle.sab instanceof SharedArrayBuffer)) {
      throw new SpindleTypeError('SHARED_CORE', 'attachSharedCore: not a Spindle shared-core handle');
    }
    const hdr = new Int32Array(handle.sab, 0, HEADER_BYTES / 4);
    if (handle.version !== VERSION) {
      throw new SpindleTypeError('SHARED_CORE', `attachSharedCore: handle version ${handle.version}, this build expects ${VERSION}`);
    }
    const spec = handle.spec;
    const o = offsets(spec);
    if (handle.sab.byteLength < o.total) throw new SpindleTypeError('SHARED_CORE', 'attachSharedCore: buffer smaller than its spec');
    this.handle = handle;
    this.threadId = opts.threadId;
    const me = ownerIdOf(opts.threadId);
    const clock = opts.clock ?? Date.now;
    this.scoreboard = new Scoreboard(handle.sab, o.scoreboard, spec.workerSlots, spec.muleSlots);
    this.locks = new UserLocks(handle.sab, o.locks, spec.locks, me);
    this.counters = new Counters(handle.sab, o.counters, spec.counters.max, me);
    this.caches = spec.caches.map((c, i) => new SharedCache(handle.sab, o.caches[i]!, c, me, clock));
    for (const c of this.caches) this.byName.set(c.name, c);
    if (Atomics.load(hdr, 0) !== MAGIC && !(opts as { initialise?: boolean }).initialise) {
      throw new SpindleTypeError('SHARED_CORE', 'attachSharedCore: buffer is not initialised (call createSharedCore in the master)');
    }
  }

  /** The cache `name`, or the first configured cache (the default). CACHE_UNKNOWN otherwise. */
  cache(name?: string): SharedCache {
    const c = name === undefined ? this.caches[0] : this.byName.get(name);
    if (!c) {
      const known = this.caches.map((x) => x.name);
      throw new SpindleError(
        'CACHE_UNKNOWN',
        name === undefined
          ? 'no cache is configured; add a cache2 = name=...,items=... line'
          : errorMessage('CACHE_UNKNOWN', { name, known: known.length ? known.join(', ') : '(none)' }),
      );
    }
    return c;
  }

  /**
   * Master: a worker/mule thread has exited (its 'exit' event). Releases every lock it held — user
   * locks (next owner sees recovered: true), cache locks (next locker repairs the table) and the
   * counter-table lock — and closes its open scoreboard writes. Thread ids are never reused within
   * a process, so this is safe to call for any exited thread, even twice.
   */
  onThreadExit(threadId: number): ThreadExitReport {
    const dead = ownerIdOf(threadId);
    const report: ThreadExitReport = { threadId, locks: this.locks.recoverOwner(dead), caches: [], counterTable: false };
    for (const c of this.caches) if (c.recoverOwner(dead)) report.caches.push(c.name);
    report.counterTable = this.counters.recoverOwner(dead);
    this.scoreboard.threadExited(threadId);
    return report;
  }

  /** Master, periodically: drop expired entries of caches without lazy_expire/no_expire. Never blocks. */
  sweep(now?: number): number {
    let n = 0;
    for (const c of this.caches) {
      if (c.spec.lazyExpire || c.spec.noExpire) continue;
      const r = c.sweep(now);
      if (r > 0) n += r;
    }
    return n;
  }

  listCounters(): { name: string; value: bigint }[] {
    return this.counters.list();
  }

  memoryReport(): MemoryReport {
    return coreMemoryReport(this.handle.spec);
  }
}

/** Master: allocate and initialise the shared memory. */
export function createSharedCore(spec: CoreSpec, opts: Partial<AttachOptions> = {}): SharedCore {
  const norm = normalizeCoreSpec(spec);
  const o = offsets(norm);
  const sab = new SharedArrayBuffer(o.total);
  const handle: SharedCoreHandle = { kind: 'spindle-shm', version: VERSION, sab, spec: norm };
  const core = new SharedCore(handle, { threadId: opts.threadId ?? 0, clock: opts.clock, initialise: true } as AttachOptions);
  core.scoreboard.initialise();
  for (const c of core.caches) c.initialise();
  for (const d of norm.counters.declared) core.counters.indexOf(d);
  const hdr = new Int32Array(sab, 0, HEADER_BYTES / 4);
  hdr[1] = VERSION;
  hdr[2] = o.total;
  hdr[3] = 4 + norm.caches.length;
  Atomics.store(hdr, 0, MAGIC);
  return core;
}

/** Any thread: attach to the core the master created. */
export function attachSharedCore(handle: SharedCoreHandle, opts: AttachOptions): SharedCore {
  return new SharedCore(handle, opts);
}
