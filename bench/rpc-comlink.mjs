#!/usr/bin/env node
// Issue 18 item 6: can comlink carry Spindle's request/response calls between threads? A round trip
// main thread → worker_thread → main thread, measured for
//   hand:    Spindle's own pattern (src/protocol/background.ts, src/api/bg-thread.ts callMaster):
//            postMessage({op, callId, ...}), the reply {op: 'reply', callId, ok, value} matched by
//            callId in a Map;
//   comlink: Comlink.wrap() on the worker, Comlink.expose() in it, over comlink's node adapter.
// Two calls: `muleMsg` (a small argument, a number back: the background RPC) and `stats` (a
// stats-document-sized reply, ~3 KB of JSON: a control call). Each sequentially (one awaited at a
// time) and with 64 in flight. Medians of --runs runs.
//
//   npm install --no-save comlink    # comlink is not a dependency of Spindle: only this bench uses it
//   node bench/rpc-comlink.mjs [--n 20000] [--runs 3] [--out bench/RPC-COMLINK.md]
// Writes the table to stdout and to --out (bench/run.mjs embeds that file in RESULTS.md).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { median } from './lib/stats.mjs';

const COMLINK = 'comlink/dist/esm/comlink.mjs';
const ADAPTER = 'comlink/dist/esm/node-adapter.mjs';

async function loadComlink() {
  try {
    const [Comlink, { default: nodeEndpoint }] = await Promise.all([import(COMLINK), import(ADAPTER)]);
    return { Comlink, nodeEndpoint };
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    console.error('bench/rpc-comlink.mjs: comlink is not installed (it is not a dependency of Spindle).\n' +
      'Install it for this measurement only: npm install --no-save comlink');
    process.exit(1);
  }
}

/** The callee's API: what the master answers (a mule queue length; a stats document). */
const STATS = {
  version: '0.0.0', pid: 1234, uptimeS: 3600, listen: ['127.0.0.1:8000'], load: 3,
  workers: Array.from({ length: 8 }, (_, i) => ({
    id: i + 1, state: 'ready', requests: 123456 + i, exceptions: 0, harakiriCount: 0, respawnCount: 1,
    inFlight: 1, avgRtMs: 1.25, busyMs: 98765, tx: 12345678, heapUsed: 8_000_000, heapLimit: 64_000_000,
    lastSpawn: 1733300000000, label: `worker ${i + 1}`,
  })),
  caches: [{ name: 'default', items: 1000, hits: 5000, misses: 10, full: 0 }],
};
let queued = 0;
const api = {
  muleMsg: (item, target) => (item && target ? ++queued : 0),
  stats: () => STATS,
  /** A refusal with an error code, as the master answers muleMsg() to a mule that does not exist. */
  fail: () => { throw Object.assign(new RangeError('muleMsg(): mule 9 does not exist'), { code: 'TARGET_INVALID' }); },
};

if (!isMainThread) {
  if (workerData.kind === 'comlink') {
    const { Comlink, nodeEndpoint } = await loadComlink();
    Comlink.expose(api, nodeEndpoint(parentPort));
  } else {
    parentPort.on('message', (m) => {
      try {
        const value = m.op === 'mule-msg' ? api.muleMsg(m.item, m.target) : m.op === 'stats' ? api.stats() : api.fail();
        parentPort.postMessage({ op: 'reply', callId: m.callId, ok: true, value });
      } catch (err) {
        parentPort.postMessage({ op: 'reply', callId: m.callId, ok: false, error: { name: err.name, message: err.message, code: err.code } }); // src/protocol/errors.ts toWire
      }
    });
  }
  parentPort.postMessage('ready');
} else {
  const args = process.argv.slice(2);
  const arg = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def; };
  const N = arg('--n', 20000);
  const RUNS = arg('--runs', 3);
  const OUT = args.includes('--out') ? args[args.indexOf('--out') + 1] : fileURLToPath(new URL('./RPC-COMLINK.md', import.meta.url));
  const { Comlink, nodeEndpoint } = await loadComlink();
  const self = fileURLToPath(import.meta.url);

  /** A worker and `call(name)` → a promise of the callee's answer. */
  async function start(kind) {
    const w = new Worker(self, { workerData: { kind } });
    await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    if (kind === 'comlink') {
      const remote = Comlink.wrap(nodeEndpoint(w));
      return {
        w,
        call: (name) => (name === 'muleMsg' ? remote.muleMsg({ t: 'msg', value: 'hello' }, 'mule') : name === 'stats' ? remote.stats() : remote.fail()),
        close: async () => { remote[Comlink.releaseProxy](); await w.terminate(); },
      };
    }
    // the hand-written RPC, as callMaster()/onBgMessage() do it
    const calls = new Map();
    let nextCall = 1;
    w.on('message', (m) => {
      const c = calls.get(m.callId);
      if (!c) return;
      calls.delete(m.callId);
      if (m.ok) c.resolve(m.value);
      else c.reject(Object.assign(new Error(m.error.message), { name: m.error.name, code: m.error.code }));
    });
    const send = (build) => {
      const callId = nextCall++;
      return new Promise((resolve, reject) => { calls.set(callId, { resolve, reject }); w.postMessage(build(callId)); });
    };
    return {
      w,
      call: (name) => (name === 'muleMsg'
        ? send((callId) => ({ op: 'mule-msg', callId, item: { t: 'msg', value: 'hello' }, target: 'mule' }))
        : send((callId) => ({ op: name, callId }))),
      close: () => w.terminate(),
    };
  }

  /**
   * µs per call, wall clock and CPU (user + system of the whole process: both threads; less
   * sensitive than wall time to how soon a loaded machine wakes a thread): n calls one after
   * another, or with `depth` in flight.
   */
  async function measure(s, name, n, depth) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    if (depth === 1) {
      for (let i = 0; i < n; i++) await s.call(name);
    } else {
      let started = 0;
      const lane = async () => { while (started < n) { started++; await s.call(name); } };
      await Promise.all(Array.from({ length: depth }, lane));
    }
    const wall = (performance.now() - t0) * 1000 / n;
    const c = process.cpuUsage(c0);
    return { wall, cpu: (c.user + c.system) / n };
  }

  // Spindle's errors carry a code (src/errors.ts) across threads: does each RPC keep it?
  const codeKept = {};
  for (const kind of ['hand', 'comlink']) {
    const s = await start(kind);
    codeKept[kind] = await s.call('fail').then(() => 'no error', (err) => (err.code === 'TARGET_INVALID' ? 'kept' : `lost (${err.name}: ${err.message}, code ${err.code})`));
    await s.close();
  }

  const rows = [];
  for (const name of ['muleMsg', 'stats']) {
    for (const depth of [1, 64]) {
      const us = { hand: [], comlink: [] };
      const cpu = { hand: [], comlink: [] };
      for (let r = 0; r < RUNS; r++) {
        for (const kind of ['hand', 'comlink']) { // interleaved, so a noisy moment hits both
          const s = await start(kind);
          const check = await s.call(name);
          if (name === 'stats' ? check.workers?.length !== 8 : typeof check !== 'number') throw new Error(`${kind} ${name}: wrong answer ${JSON.stringify(check)}`);
          await measure(s, name, Math.ceil(N / 5), depth); // warm-up
          const m = await measure(s, name, N, depth);
          us[kind].push(m.wall);
          cpu[kind].push(m.cpu);
          await s.close();
        }
      }
      rows.push({ name, depth, hand: median(us.hand), comlink: median(us.comlink), handCpu: median(cpu.hand), comlinkCpu: median(cpu.comlink) });
    }
  }
  const fx = (x, d = 1) => x.toFixed(d);
  const out = [
    '# Request/response between threads: hand-written RPC vs comlink',
    '',
    `Command: \`npm install --no-save comlink && node bench/rpc-comlink.mjs --n ${N} --runs ${RUNS}\` (comlink ${createRequire(import.meta.url)('comlink/package.json').version}), Node ${process.version}, ${new Date().toISOString()}; median of ${RUNS} runs of ${N} calls.`,
    '',
    '| call | in flight | hand-written µs/call | calls/s | CPU µs/call | comlink µs/call | calls/s | CPU µs/call | comlink / hand (wall, CPU) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.depth} | ${fx(r.hand, 2)} | ${fx(1e6 / r.hand, 0)} | ${fx(r.handCpu, 2)} | ${fx(r.comlink, 2)} | ${fx(1e6 / r.comlink, 0)} | ${fx(r.comlinkCpu, 2)} | ${fx(r.comlink / r.hand, 2)}×, ${fx(r.comlinkCpu / r.handCpu, 2)}× |`),
    '',
    `An error's \`code\` (a refusal with code TARGET_INVALID): hand-written RPC ${codeKept.hand}; comlink ${codeKept.comlink}.`,
  ];
  const md = `${out.join('\n')}\n`;
  writeFileSync(OUT, md);
  console.log(md);
}
