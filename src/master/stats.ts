// The stats document (uWSGI's structure, key names, order and units, so uwsgitop reads it), the
// request observer that feeds its latency figures, the Prometheus exposition and the health
// answers. Everything here is read-only over the server: it never blocks and never waits on a
// worker (scoreboard and cache stats are lock-free reads).
//
// Units follow uWSGI: running_time and avg_rt in microseconds, last_spawn and request_start in
// epoch seconds, rss/vsz/tx in bytes. Spindle additions come after uWSGI's keys, in snake_case.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { HeldRun } from './worker-handle.js';
import type { ServerSettings } from './settings.js';
import type { Supervisor } from './supervisor.js';
import type { MuleStats } from './mules.js';
import type { SharedCore } from '../shm/layout.js';
import { EXIT_REASONS, type SlotSnapshot, type ThreadState } from '../shm/scoreboard.js';

// ---- the request observer ------------------------------------------------------------------

/** Upper bounds (seconds) of spindle_request_duration_seconds. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;
/** How many recent requests the percentiles are computed over. */
export const LATENCY_WINDOW = 1024;

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'none'] as const;

/**
 * Fed by the master once per finished exchange (answered, failed, rejected or abandoned): counts
 * by status class, a cumulative duration histogram, and a fixed ring of the last
 * LATENCY_WINDOW durations for percentiles. O(1) per request, no allocation.
 */
export class RequestObserver {
  readonly byClass = new Float64Array(STATUS_CLASSES.length);
  readonly buckets = new Float64Array(DURATION_BUCKETS.length);
  count = 0;
  sumSeconds = 0;
  /** Requests answered 503 because every worker was busy and the backlog was full. */
  backlogRejected = 0;
  private readonly ring = new Float64Array(LATENCY_WINDOW);
  private ringAt = 0;
  private ringLen = 0;

  /** `status` 0 = the client went away before any response; `ms` from receipt to the end. */
  observe(status: number, ms: number): void {
    const cls = status >= 100 && status < 600 ? Math.floor(status / 100) - 1 : 5;
    this.byClass[cls]! += 1;
    const s = ms / 1000;
    this.count++;
    this.sumSeconds += s;
    for (let i = 0; i < DURATION_BUCKETS.length; i++) {
      if (s <= DURATION_BUCKETS[i]!) { this.buckets[i]! += 1; break; }
    }
    this.ring[this.ringAt] = ms;
    this.ringAt = (this.ringAt + 1) % LATENCY_WINDOW;
    if (this.ringLen < LATENCY_WINDOW) this.ringLen++;
  }

  backlogFull(): void {
    this.backlogRejected++;
  }

  /** Percentiles (nearest rank) over the recent window, in microseconds. */
  latency(): { window: number; p50: number; p90: number; p99: number; max: number; mean: number } {
    const n = this.ringLen;
    if (n === 0) return { window: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
    const v = this.ring.slice(0, n).sort();
    const rank = (p: number) => us(v[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!);
    let sum = 0;
    for (const x of v) sum += x;
    return { window: n, p50: rank(0.5), p90: rank(0.9), p99: rank(0.99), max: us(v[n - 1]!), mean: us(sum / n) };
  }
}

// ---- what the document is built from -----------------------------------------------------

/** The live facts of the server (SpindleServer implements it). */
export interface StatsSource {
  readonly settings: ServerSettings;
  readonly supervisor: Supervisor;
  readonly core: SharedCore;
  readonly observer: RequestObserver;
  observation(): ServerObservation;
}

export interface ServerObservation {
  backlog: number;
  backlogLimit: number;
  listeners: { spec: string; url: string; proto?: string }[];
  /** listeners are open and the periodic cycle runs */
  serving: boolean;
  shuttingDown: boolean;
  /** need-app off and no app loaded: why */
  appError: string;
  /** epoch ms */
  startedAt: number;
  requestsTotal: number;
  mules: MuleStats[];
}

const us = (ms: number): number => Math.round(ms * 1000);
const epochS = (ms: number): number => Math.floor(ms / 1000);

let cachedVersion: string | undefined;
/** The package version (as `spindle --version`; read here because master must not import cli). */
export function serverVersion(): string {
  if (cachedVersion) return cachedVersion;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    cachedVersion = pkg.version ?? '0.0.0';
  } catch {
    cachedVersion = '0.0.0';
  }
  return cachedVersion;
}

/**
 * A slot's state as the stats show it (`state`, `status`, spindle_workers{state}): uWSGI's idle /
 * busy for a ready thread, cheap for a slot the cheaper emptied, the ThreadState otherwise
 * (uwsgitop shows those as-is).
 */
export const SHOWN_STATES = ['empty', 'starting', 'idle', 'busy', 'cheap', 'retiring', 'zombie', 'dead'] as const;
export type ShownState = (typeof SHOWN_STATES)[number];

export function shownState(state: ThreadState, inFlight: number, cheap: boolean): ShownState {
  if (cheap && (state === 'dead' || state === 'empty')) return 'cheap';
  if (state === 'ready') return inFlight > 0 ? 'busy' : 'idle';
  return state;
}

export interface WorkerDoc {
  id: number; pid: number; accepting: number; requests: number; delta_requests: number; exceptions: number;
  harakiri_count: number; signals: number; signal_queue: number; status: string; rss: number; vsz: number;
  running_time: number; last_spawn: number; respawn_count: number; tx: number; avg_rt: number;
  apps: Record<string, unknown>[]; cores: CoreDoc[];
  // Spindle
  state: ShownState; in_flight: number; connections: number; thread_id: number; heap_used: number; heap_limit: number; external: number; label: string;
  mean_rt: number; last_exit_reason: string; last_exit_code: number; last_exit_at: number;
}

export interface CoreDoc {
  id: number; requests: number; static_requests: number; routed_requests: number; offloaded_requests: number;
  write_errors: number; read_errors: number; in_request: number; vars: string[]; req_info: { request_start?: number };
}

export type StatsDocument = Record<string, unknown> & { workers: WorkerDoc[] };

/** The stats document, keys in uWSGI's order, then Spindle's additions. */
export function buildStats(src: StatsSource): StatsDocument {
  const o = src.observation();
  const { supervisor, core } = src;
  const nowEpoch = Date.now();
  const toEpoch = (mono: number) => performance.timeOrigin + mono;

  // handler runs of every live thread, by slot (a retiring thread's beside its successor's)
  const runsBySlot = new Map<number, HeldRun[]>();
  for (const h of supervisor.live) {
    if (h.runs.size === 0) continue;
    const list = runsBySlot.get(h.slot) ?? [];
    for (const run of h.runs.values()) list.push(run);
    runsBySlot.set(h.slot, list);
  }

  const snaps = core.scoreboard.snapshotAll().filter((s) => s.kind === 'worker');
  const workers = snaps.map((snap) => workerDoc(snap, src, runsBySlot.get(snap.id) ?? [], toEpoch));

  const locks = core.locks.info().map((l) => ({ [`user ${l.id}`]: l.locked ? process.pid : 0 }));
  const caches = core.caches.map((c) => {
    const s = c.stats();
    return {
      name: s.name, hash: s.hash, hashsize: s.hashsize, keysize: s.keysize, max_items: s.capacity,
      blocks: s.blocks, blocksize: s.blocksize, items: s.items, hits: s.hits, miss: s.misses, full: s.full,
      last_modified_at: 0,
      // Spindle
      evictions: s.evictions, expired: s.expired, repairs: s.repairs, memory_bytes: s.memoryBytes,
      max_value_bytes: s.maxValueBytes, bitmap: s.bitmap ? 1 : 0,
    };
  });
  const sockets = o.listeners.map((l) => ({
    name: l.spec,
    proto: l.proto ?? (l.url.startsWith('uwsgi') ? 'uwsgi' : 'http'),
    queue: o.backlog, // one dispatcher backlog feeds every socket
    max_queue: o.backlogLimit,
    shared: 0,
    can_offload: 0,
    // Spindle
    address: l.url,
  }));
  const counters: Record<string, number | string> = {};
  for (const c of core.listCounters()) {
    counters[c.name] = c.value >= BigInt(Number.MIN_SAFE_INTEGER) && c.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(c.value) : c.value.toString();
  }
  const byClass: Record<string, number> = {};
  STATUS_CLASSES.forEach((k, i) => { byClass[k] = src.observer.byClass[i]!; });
  const mem = process.memoryUsage();
  const health = readiness(src);

  const doc: Record<string, unknown> = {
    version: serverVersion(),
    listen_queue: o.backlog,
    listen_queue_errors: src.observer.backlogRejected,
    signal_queue: 0,
    load: o.backlog,
    pid: process.pid,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    cwd: process.cwd(),
    locks,
  };
  if (caches.length) doc.caches = caches;
  doc.sockets = sockets;
  doc.workers = workers;
  // ---- Spindle additions
  doc.server = 'spindle';
  doc.node = process.version;
  doc.hostname = hostname();
  doc.started_at = epochS(o.startedAt);
  doc.uptime = Math.floor((nowEpoch - o.startedAt) / 1000);
  doc.ready = health.ready ? 1 : 0;
  doc.ready_reason = health.reason;
  doc.shutting_down = o.shuttingDown ? 1 : 0;
  doc.requests = o.requestsTotal;
  doc.requests_by_status = byClass;
  doc.latency = src.observer.latency();
  doc.max_queue = o.backlogLimit;
  doc.respawns = supervisor.respawns;
  doc.harakiri = supervisor.harakiris;
  doc.worker_exits = exitsByReason(supervisor);
  // every worker thread alive: the slots' workers, plus those retiring or starting beside them
  doc.worker_threads = supervisor.live.size;
  doc.memory = { rss: mem.rss, heap_used: mem.heapUsed, heap_total: mem.heapTotal, external: mem.external, array_buffers: mem.arrayBuffers };
  doc.counters = counters;
  // uWSGI's mules list (id, pid, signals), with what Spindle knows of each mule thread
  doc.mules = o.mules.map((m) => ({
    id: m.id, pid: process.pid, signals: 0, signal_queue: 0,
    // Spindle
    thread_id: m.threadId, status: shownState(m.state, m.busy ? 1 : 0, false), program: m.program, farms: m.farms,
    label: m.label, queue: m.queue, queued: m.queued, delivered: m.delivered, dropped: m.dropped, lost: m.lost,
    respawns: m.respawns, runs: m.runs,
  }));
  return doc as StatsDocument;
}

function workerDoc(snap: SlotSnapshot, src: StatsSource, runs: HeldRun[], toEpoch: (m: number) => number): WorkerDoc {
  const { settings, supervisor } = src;
  const h = supervisor.slots[snap.id] ?? null;
  const running = snap.threadId >= 0 && snap.state !== 'dead' && snap.state !== 'empty';
  // the master sees how many requests a worker has in flight, not the requests themselves
  const own = h?.ownInFlight ?? 0;
  const state = shownState(snap.state, Math.max(own, snap.inFlight), !running && supervisor.cheap.has(snap.id));
  const concurrency = Math.max(1, settings.concurrency);
  const cores: CoreDoc[] = [];
  for (let i = 0; i < concurrency; i++) {
    const run = runs[i];
    cores.push({
      id: i,
      // per-core counts are not tracked: a worker's requests are attributed to its core 0
      requests: i === 0 ? snap.requests : 0,
      static_requests: 0,
      routed_requests: 0,
      offloaded_requests: 0,
      write_errors: 0,
      read_errors: 0,
      in_request: run || i < own ? 1 : 0,
      vars: run ? [`REQUEST_URI=${run.label}`, ''] : [],
      req_info: run ? { request_start: epochS(toEpoch(run.startedAt)) } : {},
    });
  }
  const apps = running && h && h.readyAt > 0 ? [{
    id: 0,
    modifier1: 0,
    mountpoint: '',
    startup_time: Math.round((h.readyAt - h.spawnedAt) / 1000),
    requests: snap.requests,
    exceptions: snap.exceptions,
    chdir: settings.chdir ?? '',
    // Spindle
    path: settings.appPath,
  }] : [];
  return {
    id: snap.id,
    pid: running ? process.pid : 0,
    accepting: h && h.state === 'ready' && !supervisor.shuttingDown ? 1 : 0,
    requests: snap.requests,
    delta_requests: snap.deltaRequests,
    exceptions: snap.exceptions,
    harakiri_count: snap.harakiriCount,
    signals: 0,
    signal_queue: 0,
    status: state,
    // the memory the worker's isolate holds (V8 heap + Buffers and other external memory): what reload-on-rss watches
    rss: running ? snap.heapUsed + snap.external : 0,
    vsz: 0, // threads share one address space: no per-worker figure (see memory.rss at the top)
    running_time: us(snap.busyMs),
    last_spawn: epochS(snap.lastSpawn),
    respawn_count: snap.respawnCount,
    tx: snap.tx,
    avg_rt: us(snap.avgRtMs),
    apps,
    cores,
    state,
    in_flight: h ? h.requestsInFlight : snap.inFlight, // read live: the scoreboard's copy is 100 ms old
    connections: h?.openConnections ?? 0,
    thread_id: snap.threadId,
    heap_used: snap.heapUsed,
    heap_limit: snap.heapLimit,
    external: snap.external,
    label: snap.label,
    mean_rt: snap.requests > 0 ? us(snap.busyMs / snap.requests) : 0,
    last_exit_reason: snap.lastExitReason,
    last_exit_code: snap.exitCode,
    last_exit_at: epochS(snap.lastExitAt),
  };
}

function exitsByReason(supervisor: Supervisor): Record<string, number> {
  const counts = supervisor.exitsByReason;
  const out: Record<string, number> = {};
  for (const r of EXIT_REASONS) if (r !== 'none') out[r] = counts?.get(r) ?? 0;
  return out;
}

/** Serialise as uWSGI does: tab-indented, or minified. JSON.stringify escapes every string. */
export function renderStats(doc: StatsDocument, minified: boolean): string {
  return minified ? JSON.stringify(doc) : JSON.stringify(doc, null, '\t');
}

// ---- health -----------------------------------------------------------------------------

export function readiness(src: StatsSource): { ready: boolean; reason: string } {
  const o = src.observation();
  if (o.shuttingDown) return { ready: false, reason: 'shutting down' };
  if (!o.serving) return { ready: false, reason: 'starting' };
  if (o.appError) return { ready: false, reason: 'no application is loaded (need-app is off)' };
  const ready = src.supervisor.routable().length;
  if (ready === 0) return { ready: false, reason: `no worker is ready to accept requests (0 of ${src.settings.processes})` };
  return { ready: true, reason: `${ready} of ${src.settings.processes} workers ready` };
}

// ---- Prometheus text exposition (format 0.0.4) ---------------------------------------------

const escLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const num = (v: number): string => (Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN');

class Exposition {
  private readonly out: string[] = [];
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.out.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    return this;
  }
  sample(name: string, value: number, labels: Record<string, string | number> = {}): this {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${escLabel(String(v))}"`).join(',');
    this.out.push(`${name}${l ? `{${l}}` : ''} ${num(value)}`);
    return this;
  }
  /** One family with a sample per item, labelled by `label(item)`. */
  each<T>(name: string, type: 'counter' | 'gauge', help: string, items: Iterable<T>, value: (item: T) => number, label: (item: T) => Record<string, string | number>): this {
    this.family(name, type, help);
    for (const item of items) this.sample(name, value(item), label(item));
    return this;
  }
  text(): string {
    return `${this.out.join('\n')}\n`;
  }
}

export function renderMetrics(src: StatsSource): string {
  const doc = buildStats(src);
  const obs = src.observer;
  const o = src.observation();
  const m = new Exposition();

  m.family('spindle_requests_total', 'counter', 'Requests finished, by status class (none: the client left before any response).');
  STATUS_CLASSES.forEach((k, i) => m.sample('spindle_requests_total', obs.byClass[i]!, { status_class: k }));

  m.family('spindle_request_duration_seconds', 'histogram', 'Time from a complete request to the end of its response.');
  let cum = 0;
  DURATION_BUCKETS.forEach((le, i) => { cum += obs.buckets[i]!; m.sample('spindle_request_duration_seconds_bucket', cum, { le: String(le) }); });
  m.sample('spindle_request_duration_seconds_bucket', obs.count, { le: '+Inf' });
  m.sample('spindle_request_duration_seconds_sum', obs.sumSeconds);
  m.sample('spindle_request_duration_seconds_count', obs.count);

  const byState = new Map<string, number>(SHOWN_STATES.map((s) => [s, 0]));
  for (const w of doc.workers) byState.set(w.state, (byState.get(w.state) ?? 0) + 1);
  m.family('spindle_workers', 'gauge', 'Worker slots by state.');
  for (const [state, n] of byState) m.sample('spindle_workers', n, { state });

  m.family('spindle_backlog', 'gauge', 'Requests waiting for a free worker.');
  m.sample('spindle_backlog', o.backlog);
  m.family('spindle_backlog_limit', 'gauge', 'Backlog capacity (listen).');
  m.sample('spindle_backlog_limit', o.backlogLimit);
  m.family('spindle_backlog_rejected_total', 'counter', 'Requests answered 503 because the backlog was full.');
  m.sample('spindle_backlog_rejected_total', obs.backlogRejected);

  m.family('spindle_worker_respawns_total', 'counter', 'Workers started again after a crash or harakiri.');
  m.sample('spindle_worker_respawns_total', src.supervisor.respawns);
  m.family('spindle_worker_exits_total', 'counter', 'Worker threads that ended, by reason.');
  for (const [reason, n] of Object.entries(doc.worker_exits as Record<string, number>)) m.sample('spindle_worker_exits_total', n, { reason });
  m.family('spindle_harakiri_total', 'counter', 'Workers terminated by harakiri, by reason.');
  m.sample('spindle_harakiri_total', src.supervisor.harakiris, { reason: 'deadline' });

  const byWorker = (w: { id: number }) => ({ worker: w.id });
  m.each('spindle_worker_requests_total', 'counter', 'Requests served by each worker slot (survives respawns).', doc.workers, (w) => w.requests, byWorker);
  m.each('spindle_worker_heap_bytes', 'gauge', "Each worker's V8 heap in use.", doc.workers, (w) => w.heap_used, byWorker);
  m.each('spindle_worker_external_bytes', 'gauge', "Each worker's memory outside the V8 heap (Buffers, ArrayBuffers).", doc.workers, (w) => w.external, byWorker);
  m.each('spindle_worker_in_flight', 'gauge', 'Requests each worker is handling.', doc.workers, (w) => w.in_flight, byWorker);
  m.each('spindle_worker_connections', 'gauge', 'Client connections each worker holds open.', doc.workers, (w) => w.connections, byWorker);

  const caches = (doc.caches ?? []) as { name: string; hits: number; miss: number; full: number; items: number; max_items: number; evictions: number }[];
  const byCache = (c: { name: string }) => ({ cache: c.name });
  m.each('spindle_cache_hits_total', 'counter', 'Cache lookups that found the key.', caches, (c) => c.hits, byCache);
  m.each('spindle_cache_misses_total', 'counter', 'Cache lookups that did not find the key.', caches, (c) => c.miss, byCache);
  m.each('spindle_cache_full_total', 'counter', 'Cache writes refused because the cache was full.', caches, (c) => c.full, byCache);
  m.each('spindle_cache_evictions_total', 'counter', 'Cache items evicted to make room.', caches, (c) => c.evictions, byCache);
  m.each('spindle_cache_items', 'gauge', 'Items in the cache.', caches, (c) => c.items, byCache);
  m.each('spindle_cache_capacity_items', 'gauge', 'Configured item capacity of the cache.', caches, (c) => c.max_items, byCache);

  m.family('spindle_counter', 'gauge', 'Shared counters (counter / spindle counter API).');
  for (const [name, v] of Object.entries(doc.counters as Record<string, number | string>)) m.sample('spindle_counter', Number(v), { name });

  m.family('spindle_mule_queue_length', 'gauge', 'Messages waiting in each mule queue.');
  for (const mule of o.mules) m.sample('spindle_mule_queue_length', mule.queue, { mule: String(mule.id) });

  m.family('spindle_ready', 'gauge', '1 while at least one worker accepts and the server is not shutting down.');
  m.sample('spindle_ready', doc.ready as number);
  m.family('spindle_uptime_seconds', 'gauge', 'Seconds since the master started.');
  m.sample('spindle_uptime_seconds', (Date.now() - o.startedAt) / 1000);
  m.family('spindle_start_time_seconds', 'gauge', 'Start time of the master, epoch seconds.');
  m.sample('spindle_start_time_seconds', o.startedAt / 1000);
  m.family('spindle_process_resident_memory_bytes', 'gauge', 'Resident set size of the whole process (master and every worker).');
  m.sample('spindle_process_resident_memory_bytes', (doc.memory as { rss: number }).rss);
  return m.text();
}
