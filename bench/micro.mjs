#!/usr/bin/env node
// Micro-benchmarks of issue 6 that set the floor Spindle's own numbers are compared with:
//   - bare MessagePort round trip main <-> worker_thread (tiny, request-shaped, 1 MiB transferred, pipelined),
//     and a SharedArrayBuffer + Atomics.wait/notify ping-pong (the lower bound of a "SAB ring");
//   - bare worker_thread spawn-to-ready (importing the hello app) and idle memory per bare worker;
//   - single-connection end-to-end latency of node-http vs spindle (wrk -c 1): the difference is what
//     Spindle's dispatch hop costs a request, measured through the real CLI.
// Spindle's own figures: its dispatch round trip (the real worker entry, no HTTP), spawn-to-ready,
// idle heap per worker, harakiri detection-to-answer (real CLI) and the cache/lock figures.
//
//   node bench/micro.mjs [--quick] [--out FILE.md]
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { median, percentile } from './lib/stats.mjs';
import { BENCH, SETUPS } from './lib/setups.mjs';
import { installCleanup, spawnGroup, freePort, waitReady, hasCommand, sleep } from './lib/proc.mjs';
import { runWrk } from './lib/wrk.mjs';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const OUT = argv.includes('--out') ? path.resolve(argv[argv.indexOf('--out') + 1]) : null;
installCleanup();

const ECHO_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
if (workerData && workerData.sab) {
  const a = new Int32Array(workerData.sab);
  // ping-pong on a[0]: main writes 1 and notifies, we answer 2 and notify
  for (;;) {
    Atomics.wait(a, 0, 0);
    if (Atomics.load(a, 0) === -1) break;
    Atomics.store(a, 0, 2); Atomics.notify(a, 0);
    Atomics.wait(a, 0, 2);
  }
} else {
  parentPort.on('message', (m) => {
    if (m && m.body instanceof ArrayBuffer) parentPort.postMessage(m, [m.body]);
    else parentPort.postMessage(m);
  });
}`;

const REQUEST = {
  id: 1, method: 'GET', url: '/api/items?page=2', remote: '127.0.0.1', remotePort: 54321,
  headers: { host: '127.0.0.1:8000', 'user-agent': 'wrk', accept: '*/*', 'accept-encoding': 'gzip, deflate',
    connection: 'keep-alive', 'x-request-id': 'b7e1c0de-0000-4000-8000-000000000001', cookie: 'session=abc123; theme=dark' },
};

async function portRoundTrip(label, makeMsg, n, { transfer = false } = {}) {
  const w = new Worker(ECHO_WORKER, { eval: true });
  await new Promise((r) => w.once('online', r));
  const times = [];
  let pending;
  w.on('message', (m) => pending(m));
  const one = (msg) => new Promise((resolve) => {
    pending = resolve;
    if (transfer) w.postMessage(msg, [msg.body]); else w.postMessage(msg);
  });
  for (let i = 0; i < Math.min(1000, n / 5); i++) await one(makeMsg(i)); // warm-up
  for (let i = 0; i < n; i++) {
    const msg = makeMsg(i);
    const t0 = process.hrtime.bigint();
    await one(msg);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  await w.terminate();
  return { label, n, p50: median(times), p99: percentile(times, 99), unit: 'µs/round trip' };
}

async function portPipelined(label, makeMsg, n, inflight) {
  const w = new Worker(ECHO_WORKER, { eval: true });
  await new Promise((r) => w.once('online', r));
  let sent = 0, got = 0;
  const t0 = performance.now();
  await new Promise((resolve) => {
    w.on('message', () => { got++; if (sent < n) w.postMessage(makeMsg(sent++)); if (got === n) resolve(); });
    for (; sent < Math.min(inflight, n); sent++) w.postMessage(makeMsg(sent));
  });
  const ms = performance.now() - t0;
  await w.terminate();
  return { label, n, p50: (ms * 1000) / n, p99: NaN, unit: `µs/message amortised (${inflight} in flight; ${Math.round(n / (ms / 1000)).toLocaleString('en-US')} round trips/s)` };
}

async function sabPingPong(n) {
  const sab = new SharedArrayBuffer(4);
  const a = new Int32Array(sab);
  const w = new Worker(ECHO_WORKER, { eval: true, workerData: { sab } });
  await new Promise((r) => w.once('online', r));
  const times = [];
  const one = () => {
    Atomics.store(a, 0, 1); Atomics.notify(a, 0);
    Atomics.wait(a, 0, 1);       // until the worker writes 2
    Atomics.store(a, 0, 0); Atomics.notify(a, 0);
  };
  for (let i = 0; i < 1000; i++) one();
  for (let i = 0; i < n; i++) { const t0 = process.hrtime.bigint(); one(); times.push(Number(process.hrtime.bigint() - t0) / 1000); }
  Atomics.store(a, 0, -1); Atomics.notify(a, 0);
  await w.terminate();
  return { label: 'SAB + Atomics.wait/notify ping-pong (main blocks; lower bound of a SAB ring)', n, p50: median(times), p99: percentile(times, 99), unit: 'µs/round trip' };
}

const READY_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const v8 = require('node:v8');
import(workerData.app).then((m) => {
  const app = m.default;
  if (!app || typeof app.fetch !== 'function') throw new Error('no fetch handler');
  const h = v8.getHeapStatistics();
  parentPort.postMessage({ ready: true, heapUsed: h.used_heap_size, heapTotal: h.total_heap_size });
});`;

async function spawnToReady(n) {
  const app = new URL(`file://${path.join(BENCH, 'apps', 'hello.mjs')}`).href;
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const w = new Worker(READY_WORKER, { eval: true, workerData: { app } });
    await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    times.push(performance.now() - t0);
    await w.terminate();
  }
  return { n, p50: median(times), p90: percentile(times, 90), min: Math.min(...times) };
}

async function idleMemory(n) {
  const app = new URL(`file://${path.join(BENCH, 'apps', 'hello.mjs')}`).href;
  global.gc?.();
  await sleep(200);
  const before = process.memoryUsage().rss;
  const workers = [], heaps = [];
  for (let i = 0; i < n; i++) {
    const w = new Worker(READY_WORKER, { eval: true, workerData: { app } });
    heaps.push(await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
    workers.push(w);
  }
  await sleep(500);
  const after = process.memoryUsage().rss;
  await Promise.all(workers.map((w) => w.terminate()));
  return {
    n, rssPerWorkerMiB: (after - before) / n / 1024 ** 2,
    heapUsedMiB: median(heaps.map((h) => h.heapUsed)) / 1024 ** 2, heapTotalMiB: median(heaps.map((h) => h.heapTotal)) / 1024 ** 2,
  };
}

/** node-http vs spindle at one connection: p50/p99 of a lone request; the difference is Spindle's hop. */
async function singleConnection(durationS) {
  const res = [];
  if (!hasCommand('wrk')) return [{ setup: '—', note: 'wrk missing: apt-get install -y wrk' }];
  for (const setup of ['node-http', 'spindle']) {
    const port = await freePort();
    const { cmd, args } = SETUPS[setup].command({ port: String(port), workload: 'hello' });
    const h = spawnGroup(cmd, args, { cpus: '0', label: setup });
    const ready = await waitReady(`http://127.0.0.1:${port}/`, h, SETUPS[setup].startDeadlineMs ?? 15000);
    try {
      if (!ready.ok) {
        const tail = h.out.text.trim().split('\n').slice(-4).join(' | ');
        res.push({ setup, note: `${setup}: failed to start: ${ready.reason}${tail ? ` — ${tail}` : ''}` });
        continue;
      }
      const w = await runWrk({ url: `http://127.0.0.1:${port}/`, connections: 1, durationS, cpus: '1' });
      res.push({ setup, rps: w.parsed.rps, p50: w.parsed.p50, p99: w.parsed.p99 });
    } finally { await h.stop(1000); }
  }
  return res;
}

/** Start the real CLI a few times and read the "workers ready" line's `ms` (spawn of all workers to ready). */
async function spindleWorkersReady() {
  const times = [];
  for (let i = 0; i < (QUICK ? 2 : 5); i++) {
    const port = await freePort();
    const { cmd, args } = SETUPS.spindle.command({ port: String(port), workload: 'hello' });
    let ms = NaN;
    const h = spawnGroup(cmd, args, { cpus: '0', label: 'spindle', onLine: (l) => {
      try { const j = JSON.parse(l); if (j.event === 'WORKERS_READY' && Number.isFinite(j.ms)) ms = j.ms; } catch { /* not JSON */ }
    } });
    const ready = await waitReady(`http://127.0.0.1:${port}/`, h, 20000);
    await h.stop(1000);
    if (!ready.ok) return { status: 'failed', value: `spindle: failed to start: ${ready.reason} — ${h.out.text.trim().split('\n').slice(-3).join(' | ')}` };
    if (!Number.isFinite(ms)) return { status: 'pending', need: 'a JSON log line {"event":"WORKERS_READY","ms":N} (not found in the output)' };
    times.push(ms);
  }
  return { status: 'ok', value: `p50 ${fx(median(times))} ms, max ${fx(Math.max(...times))} ms over ${times.length} starts (2 workers spawned in parallel, server pinned to cpu 0)` };
}

// ---- Spindle's own figures ----------------------------------------------------------------------------
// Through the real CLI (needs `npx tsc -p .` first): one worker on the hello app, its "workers ready"
// line for spawn-to-ready, and the heap it reports in stats once idle. (There is no master → worker
// hop per request to time any more: workers take requests themselves; the single-connection rows
// above are the per-request cost.)
async function spindleSpawnAndMemory() {
  const runs = QUICK ? 3 : 8;
  const ready = [], heaps = [];
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    const statsPort = await freePort();
    const { cmd, args } = SETUPS.spindle.command({ port: String(port), workload: 'hello' });
    const cli = [...args.filter((a, j) => !(a === '--processes' || args[j - 1] === '--processes')), '--processes', '1', '--stats', `127.0.0.1:${statsPort}`, '--log-format', 'json'];
    let ms = NaN;
    const h = spawnGroup(cmd, cli, { label: 'spindle', onLine: (l) => {
      try { const j = JSON.parse(l); if (j.event === 'WORKERS_READY' && Number.isFinite(j.ms)) ms = j.ms; } catch { /* not JSON */ }
    } });
    try {
      const up = await waitReady(`http://127.0.0.1:${port}/`, h, 20000);
      if (!up.ok) return failedBoth(`spindle: failed to start: ${up.reason}`);
      ready.push(ms);
      const until = performance.now() + 3000; // the worker reports its heap every second
      while (performance.now() < until) {
        const doc = await rawStats(statsPort);
        const heap = doc?.workers?.[0]?.heap_used;
        if (heap > 0) { heaps.push(heap); break; }
        await sleep(200);
      }
    } finally { await h.stop(1000); }
  }
  return {
    spawn: { status: 'ok', value: `p50 ${fx(median(ready))} ms, min ${fx(Math.min(...ready))} ms, max ${fx(Math.max(...ready))} ms (new worker thread → hello app loaded → READY, from the "workers ready" line, 1 worker, n=${runs})` },
    memory: heaps.length
      ? { status: 'ok', value: `${fx(median(heaps) / 1024 ** 2)} MiB V8 heap used per idle worker (median of ${heaps.length}; stats heap_used); process RSS per bare worker: see "Bare worker_thread baseline"` }
      : { status: 'failed', value: 'no heap_used in stats within 3 s' },
  };
}

/** The stats server's document (uWSGI style: connect, read the JSON, the server closes). */
function rawStats(port) {
  return new Promise((resolve) => {
    let text = '';
    const sock = net.connect(port, '127.0.0.1');
    sock.setEncoding('utf8').on('data', (d) => { text += d; });
    sock.on('end', () => { try { resolve(JSON.parse(text)); } catch { resolve(null); } });
    sock.on('error', () => resolve(null));
  });
}

function failedBoth(value) {
  return { spawn: { status: 'failed', value }, memory: { status: 'failed', value } };
}

/** Real CLI, --harakiri 1, GET /hang: how long after the 1 s deadline the 504 leaves (from the request log line). */
async function spindleHarakiriLatency() {
  const port = await freePort();
  const args = [path.join(BENCH, '..', 'bin', 'spindle.js'), path.join(BENCH, 'apps', 'hang1pct.mjs'), '--http-socket', `127.0.0.1:${port}`,
    '--processes', '1', '--harakiri', '1', '--log-format', 'json'];
  const answered = [];
  const h = spawnGroup(process.execPath, args, { cpus: '0', label: 'spindle', onLine: (l) => {
    try { const j = JSON.parse(l); if (j.event === 'REQUEST' && j.status === 504) answered.push(j.ms); } catch { /* not JSON */ }
  } });
  try {
    const ready = await waitReady(`http://127.0.0.1:${port}/`, h, 20000);
    if (!ready.ok) return { status: 'failed', value: `spindle: failed to start: ${ready.reason}` };
    const trials = QUICK ? 2 : 5;
    for (let i = 0; i < trials; i++) {
      await fetch(`http://127.0.0.1:${port}/hang`).then((r) => r.arrayBuffer()).catch(() => {});
      await waitReady(`http://127.0.0.1:${port}/`, h, 10000); // the replacement answers
    }
    const deadline = 1000;
    const late = answered.map((ms) => ms - deadline);
    return { status: 'ok', value: `504 sent ${fx(median(late))} ms after the deadline (median; max ${fx(Math.max(...late))} ms; n=${late.length}; checked every 100 ms; target: within 200 ms)` };
  } finally { await h.stop(1000); }
}

async function shmFigures() {
  try {
    const text = readFileSync(path.join(BENCH, 'shm', 'RESULTS.md'), 'utf8');
    const rows = text.split('\n').filter((l) => /^\| Spindle/.test(l));
    return { status: 'ok', value: rows.length ? `from bench/shm/RESULTS.md (\`node bench/shm/cache-bench.mjs\`): ${rows.map((r) => r.replace(/\s*\|\s*/g, ' ').trim()).join('; ')}` : 'see bench/shm/RESULTS.md' };
  } catch {
    return { status: 'failed', value: 'bench/shm/RESULTS.md missing: run node bench/shm/cache-bench.mjs' };
  }
}

let spawnMemRun;
const spawnMem = () => (spawnMemRun ??= spindleSpawnAndMemory()); // after the bare-worker memory figure
const SPINDLE_HOOKS = {
  'start-up to all workers ready, hello app, 2 workers (from Spindle\'s "workers ready" log line; per-worker target ≤ 50 ms)': spindleWorkersReady,
  'worker spawn-to-ready, one worker (target ≤ 50 ms)': async () => (await spawnMem()).spawn,
  'idle memory per worker (target ≤ 10 MB, the worker\'s V8 heap)': async () => (await spawnMem()).memory,
  'harakiri detection-to-answer latency': spindleHarakiriLatency,
  'cache and lock figures (shared-memory issue)': shmFigures,
};

// ---- main ------------------------------------------------------------------------------------------
const fx = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const N = QUICK ? 2000 : 20000;
const L = ['# Micro-benchmarks', '', `Command: \`node bench/micro.mjs ${argv.join(' ')}\` — Node ${process.version}, ${new Date().toISOString()}; ` +
  'message micro-benchmarks run unpinned in one process; the single-connection rows pin the server to cpu 0 and wrk to cpu 1.', ''];

const mem = await idleMemory(QUICK ? 2 : 6); // first: freed memory of earlier workers would hide the growth
const rt = [];
rt.push(await portRoundTrip('MessagePort, tiny message (a number)', (i) => i, N));
rt.push(await portRoundTrip('MessagePort, request-shaped object (method, url, 7 headers)', (i) => ({ ...REQUEST, id: i }), N));
rt.push(await portRoundTrip('MessagePort, 1 MiB ArrayBuffer transferred both ways', () => ({ id: 0, body: new ArrayBuffer(1024 * 1024) }), Math.max(200, N / 20), { transfer: true }));
rt.push(await portPipelined('MessagePort, request-shaped object, pipelined', (i) => ({ ...REQUEST, id: i }), N * 2, 64));
rt.push(await sabPingPong(N));
L.push('## Bare thread round trips', '', '| path | n | p50 | p99 | unit |', '|---|---:|---:|---:|---|');
for (const r of rt) L.push(`| ${r.label} | ${r.n} | ${fx(r.p50, 2)} | ${fx(r.p99, 2)} | ${r.unit} |`);
L.push('');

const sp = await spawnToReady(QUICK ? 3 : 15);
L.push('## Bare worker_thread baseline', '');
L.push(`- spawn-to-ready (new Worker → hello app imported → first message): p50 ${fx(sp.p50)} ms, p90 ${fx(sp.p90)} ms, min ${fx(sp.min)} ms (n=${sp.n})`);
L.push(`- idle memory per worker: process RSS +${fx(mem.rssPerWorkerMiB)} MiB per worker; the worker's own V8 heap ${fx(mem.heapUsedMiB)} MiB used / ${fx(mem.heapTotalMiB)} MiB total (n=${mem.n})`, '');

const sc = await singleConnection(QUICK ? 1 : 5);
L.push('## One connection, hello world (wrk -c 1 -t 1): what the dispatch hop costs a lone request', '');
L.push('| setup | req/s | p50 ms | p99 ms | note |', '|---|---:|---:|---:|---|');
for (const r of sc) L.push(`| ${r.setup} | ${fx(r.rps, 0)} | ${fx(r.p50, 3)} | ${fx(r.p99, 3)} | ${r.note ?? ''} |`);
const a = sc.find((r) => r.setup === 'node-http'), b = sc.find((r) => r.setup === 'spindle');
if (a?.p50 && b?.p50) L.push('', `Spindle − node-http at p50: ${fx((b.p50 - a.p50) * 1000, 0)} µs per request.`);
L.push('');

L.push('## Spindle\'s own figures', '', '| measurement | result |', '|---|---|');
for (const [name, fn] of Object.entries(SPINDLE_HOOKS)) {
  const r = await fn();
  L.push(`| ${name} | ${r.value} |`);
}
L.push('');
const md = L.join('\n');
if (OUT) { writeFileSync(OUT, md); console.log(`micro: wrote ${OUT}`); }
console.log(md);
