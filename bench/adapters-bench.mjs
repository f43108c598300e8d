#!/usr/bin/env node
// Micro-benchmark of the worker-side app adapters: µs per request for a hello-world route in each
// app form, called in-process (no thread hop, no sockets, no HTTP parsing) through the compiled
// dist code, exactly as the worker calls it: loadApp(file).handler(requestData, sink, ctx).
// For comparison it also runs the same apps through light-my-request (what Fastify's inject()
// uses) with the options a worker would need (validate:false, payloadAsStream:true).
//
//   npx tsc -p . && node bench/adapters-bench.mjs [iterations=5000] [rounds=3]
//
// Sequential requests (each awaited before the next) on the current thread; reports the best and
// the median round. Run it on a quiet machine; numbers on 2 shared cores move by ±15 %.
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { loadApp } = await import(`${ROOT}dist/src/worker/load-app.js`);
const require = createRequire(import.meta.url);
const inject = require('light-my-request');

const N = Number(process.argv[2] ?? 5000);
const ROUNDS = Number(process.argv[3] ?? 3);
const APPS = `${ROOT}test/fixtures/apps/`;

const forms = [
  ['fetch: export default { fetch }', 'fetch-object.mjs'],
  ['fetch: named export fetch', 'fetch-named.mjs'],
  ['fetch: Hono app', 'hono.mjs'],
  ['node: plain (req, res)', 'plain.mjs'],
  ['node: Express 5 app', 'express.mjs'],
  ['koa: Koa 3 instance', 'koa.mjs'],
  ['node: Koa callback (CJS)', 'koa-callback.cjs'],
  ['fastify: Fastify 5 instance', 'fastify.mjs'],
];

const requestData = (id) => ({
  id, method: 'GET', url: '/hello', httpVersion: '1.1',
  headers: [['host', 'localhost:8000'], ['user-agent', 'bench'], ['accept', '*/*']],
  remoteAddress: '127.0.0.1', remotePort: 40000, localAddress: '127.0.0.1', localPort: 8000,
  scheme: 'http', body: null,
});

let bytes = 0;
const sink = {
  head(status) { if (status !== 200) throw new Error(`status ${status}`); },
  chunk(d) { bytes += d.byteLength; },
  end() {},
};

async function time(fn) {
  for (let i = 0; i < Math.min(1000, N); i++) await fn(i); // warm-up
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await fn(i);
    rounds.push(Number(process.hrtime.bigint() - t0) / N / 1000);
  }
  rounds.sort((a, b) => a - b);
  return { best: rounds[0], median: rounds[Math.floor(rounds.length / 2)] };
}

const rows = [];
// One AbortController per request, as the worker does: ctx.signal must be per request (undici's
// Request keeps a listener on the signal it follows until it is garbage-collected, so a shared
// long-lived signal would pile up listeners). Its cost is shown in its own row.
for (const [label, file] of forms) {
  const app = await loadApp(`${APPS}${file}`);
  const r = await time((i) => app.handler(requestData(i), sink, { signal: new AbortController().signal, workerId: 1 }));
  rows.push([`spindle  ${label}`, r]);
}
rows.push(['(included above) new AbortController() per request', await time(async () => new AbortController().signal)]);

// light-my-request, for comparison (the plain handler, Express and Koa apps, and fastify.inject)
const lmrOpts = { method: 'GET', url: '/hello', headers: { host: 'localhost:8000', 'user-agent': 'bench', accept: '*/*' }, remoteAddress: '127.0.0.1', validate: false, payloadAsStream: true };
async function viaLmr(dispatch) {
  const res = await inject(dispatch, lmrOpts);
  for await (const c of res.stream()) bytes += c.length;
}
for (const [label, file, get] of [
  ['plain (req, res)', 'plain.mjs', (m) => m.default],
  ['Express 5 app', 'express.mjs', (m) => m.default],
  ['Koa 3 callback', 'koa.mjs', (m) => m.default.callback()],
]) {
  const dispatch = get(await import(`${APPS}${file}`));
  rows.push([`light-my-request  ${label}`, await time(() => viaLmr(dispatch))]);
}
{
  const fastify = (await import(`${APPS}fastify.mjs`)).default;
  await fastify.ready();
  rows.push(['fastify.inject()  (light-my-request, buffered)', await time(() => fastify.inject({ method: 'GET', url: '/hello' }))]);
}

const w = Math.max(...rows.map(([l]) => l.length));
console.log(`adapters-bench: ${N} sequential hello-world requests × ${ROUNDS} rounds, Node ${process.version}, µs/request`);
console.log(`${'form'.padEnd(w)}  best µs  median µs  req/s (best)`);
for (const [label, { best, median }] of rows) {
  console.log(`${label.padEnd(w)}  ${best.toFixed(1).padStart(7)}  ${median.toFixed(1).padStart(9)}  ${Math.round(1e6 / best).toString().padStart(12)}`);
}
if (bytes === 0) throw new Error('no body bytes seen');
process.exit(0);
