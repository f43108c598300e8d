#!/usr/bin/env node
// Benchmark of the shared-memory cache and locks (issue 4).
//   npx tsc -p . && node bench/shm/cache-bench.mjs [--ms 300] [--runs 3] [--no-redis]
// get and set ops/s for 16-byte keys and 64-byte values from 1 and 2 threads, for the Spindle SAB
// cache, a JS Map, lru-cache 11 and Redis on 127.0.0.1 (ioredis; one connection per thread, each
// call awaited, plus a pipelined variant), and uncontended lock/unlock ops/s. Every figure is the
// median of --runs runs. Map and lru-cache are per-thread (NOT shared between the threads); the
// Spindle cache and Redis are shared. Writes a markdown table to stdout and to bench/shm/RESULTS.md.
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const KEYS = 1000;
const key = (i) => `key-${String(i).padStart(12, '0')}`; // 16 bytes
const VALUE = 'v'.repeat(48) + '0123456789abcdef'; // 64 bytes

if (!isMainThread) {
  const { kind, op, ms, handle, port, gate } = workerData;
  const keys = Array.from({ length: KEYS }, (_, i) => key(i));
  const g = new Int32Array(gate);
  const barrier = () => {
    Atomics.add(g, 0, 1);
    Atomics.notify(g, 0);
    while (Atomics.load(g, 1) === 0) Atomics.wait(g, 1, 0, 50);
  };
  let store;
  let redis;
  if (kind === 'spindle' || kind === 'lock') {
    const { attachSharedCore } = await import('../../dist/src/shm/layout.js');
    const { threadId } = await import('node:worker_threads');
    const core = attachSharedCore(handle, { threadId });
    store = kind === 'lock' ? core.locks : core.cache('bench');
  } else if (kind === 'map') {
    store = new Map();
  } else if (kind === 'lru') {
    const { LRUCache } = await import('lru-cache');
    store = new LRUCache({ max: 10_000 });
  } else {
    const { default: Redis } = await import('ioredis');
    redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, enableAutoPipelining: false });
    await redis.connect();
  }
  // warm-up + prefill (so get hits)
  if (store && kind !== 'lock') for (let r = 0; r < 50; r++) for (const k of keys) { store.set(k, VALUE); store.get(k); }
  if (redis) for (const k of keys) await redis.set(k, VALUE);
  if (kind === 'lock') for (let i = 0; i < 100_000; i++) { store.lock(0); store.unlock(0); }
  barrier();
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  let sink = 0;
  if (kind === 'lock') {
    while (performance.now() < end) {
      for (let i = 0; i < 1000; i++) { store.lock(0); store.unlock(0); }
      n += 1000;
    }
  } else if (store) {
    if (op === 'set') {
      while (performance.now() < end) { for (let i = 0; i < KEYS; i++) store.set(keys[i], VALUE); n += KEYS; }
    } else {
      while (performance.now() < end) { for (let i = 0; i < KEYS; i++) sink += store.get(keys[i]).length; n += KEYS; }
    }
  } else if (kind === 'redis') {
    if (op === 'set') {
      while (performance.now() < end) { for (let i = 0; i < 100; i++) await redis.set(keys[(n + i) % KEYS], VALUE); n += 100; }
    } else {
      while (performance.now() < end) { for (let i = 0; i < 100; i++) sink += (await redis.get(keys[(n + i) % KEYS])).length; n += 100; }
    }
  } else {
    // redis-pipe: batches of 100 commands per round trip
    while (performance.now() < end) {
      const p = redis.pipeline();
      for (let i = 0; i < 100; i++) op === 'set' ? p.set(keys[(n + i) % KEYS], VALUE) : p.get(keys[(n + i) % KEYS]);
      const r = await p.exec();
      sink += r.length;
      n += 100;
    }
  }
  const elapsed = performance.now() - t0;
  if (redis) redis.disconnect();
  parentPort.postMessage({ n, elapsed, sink });
} else {
  const args = process.argv.slice(2);
  const arg = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def; };
  const MS = arg('--ms', 300);
  const RUNS = arg('--runs', 3);
  const self = fileURLToPath(import.meta.url);
  const { createSharedCore } = await import('../../dist/src/shm/layout.js');
  const { parseCacheSpec } = await import('../../dist/src/config/cache2.js');
  const core = createSharedCore({
    workerSlots: 2, muleSlots: 0, locks: 0, counters: { max: 0, declared: [] },
    caches: [parseCacheSpec({ name: 'bench', items: '2000', blocksize: '64', keysize: '16' })],
  });

  async function freePort() {
    return new Promise((res) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
  }
  let redisProc;
  let redisPort = 0;
  let redisNote = '';
  const haveRedis = !args.includes('--no-redis') && spawnSync('redis-server', ['--version']).status === 0;
  if (haveRedis) {
    redisPort = await freePort();
    redisProc = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const { default: Redis } = await import('ioredis');
    const deadline = Date.now() + 5000;
    for (;;) {
      const r = new Redis({ port: redisPort, host: '127.0.0.1', lazyConnect: true, retryStrategy: null, maxRetriesPerRequest: 0 });
      try { await r.connect(); await r.ping(); r.disconnect(); break; } catch { r.disconnect(); }
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    redisNote = spawnSync('redis-server', ['--version']).stdout.toString().trim().split(' ').slice(0, 3).join(' ');
  }
  process.on('exit', () => redisProc?.kill());

  async function measure(kind, op, threads) {
    const gate = new SharedArrayBuffer(8);
    const g = new Int32Array(gate);
    const ws = Array.from({ length: threads }, () => new Worker(self, { workerData: { kind, op, ms: MS, handle: core.handle, port: redisPort, gate } }));
    const results = ws.map((w) => new Promise((res, rej) => { w.once('message', res); w.once('error', rej); }));
    while (Atomics.load(g, 0) < threads) await Atomics.waitAsync(g, 0, Atomics.load(g, 0), 100).value;
    Atomics.store(g, 1, 1);
    Atomics.notify(g, 1);
    const rs = await Promise.all(results);
    await Promise.all(ws.map((w) => w.terminate()));
    return rs.reduce((a, r) => a + (r.n / r.elapsed) * 1000, 0); // total ops/s over all threads
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  async function med(kind, op, threads) {
    const xs = [];
    for (let r = 0; r < RUNS; r++) xs.push(await measure(kind, op, threads));
    return median(xs);
  }
  const fmt = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`);
  const ns = (x, t) => `${Math.round((1e9 / x) * t)}`;

  const stores = [
    ['spindle', 'Spindle SAB cache (shared)'],
    ['map', 'JS Map (per thread, not shared)'],
    ['lru', 'lru-cache 11 (per thread, not shared)'],
  ];
  if (haveRedis) stores.push(['redis', `Redis, awaited calls (shared; ${redisNote})`], ['redis-pipe', 'Redis, pipeline of 100 (shared)']);
  const rows = [];
  for (const [kind, label] of stores) {
    for (const threads of [1, 2]) {
      const get = await med(kind, 'get', threads);
      const set = await med(kind, 'set', threads);
      rows.push(`| ${label} | ${threads} | ${fmt(get)} | ${fmt(set)} | ${ns(get, threads)} | ${ns(set, threads)} |`);
      process.stderr.write(`${label} ×${threads}: get ${fmt(get)} set ${fmt(set)}\n`);
    }
  }
  const lock1 = await med('lock', 'lock', 1);
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const out = [
    `## Shared-memory cache and locks (bench/shm/cache-bench.mjs)`,
    ``,
    `\`npx tsc -p . && node bench/shm/cache-bench.mjs\` — ${date} UTC, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}.`,
    `16-byte keys (1000 distinct), 64-byte string values; ${MS} ms per measurement, median of ${RUNS} runs;`,
    `ops/s summed over the threads; ns/op is per thread (wall time / ops of one thread).`,
    ``,
    `| store | threads | get ops/s | set ops/s | get ns/op | set ns/op |`,
    `|---|---|---|---|---|---|`,
    ...rows,
    ``,
    `| lock | threads | lock+unlock pairs/s | ns/pair |`,
    `|---|---|---|---|`,
    `| Spindle user lock 0, uncontended (lock(0); unlock(0)) | 1 | ${fmt(lock1)} | ${ns(lock1, 1)} |`,
    ...(haveRedis ? [] : ['', 'redis: skipped (apt-get install -y redis-server)']),
    ``,
  ].join('\n');
  process.stdout.write(out);
  writeFileSync(new URL('./RESULTS.md', import.meta.url), out);
  redisProc?.kill();
  process.exit(0);
}
