#!/usr/bin/env node
// Cheaper ramp: the real `spindle` CLI with busyness scaling under a load that ramps up, holds a
// plateau and stops. Samples the worker count (from the server's log: 'worker started' and
// 'worker exited' with reason cheaper) and the request rate (autocannon responses) every 250 ms,
// then writes bench/cheaper-ramp.svg (workers and req/s over time), bench/cheaper-ramp.json (the
// samples) and prints a summary for bench/CHEAPER.md.
//
//   npx tsc -p . && node bench/cheaper-ramp.mjs [--quick]
//
// 127.0.0.1 only; bounded: every stage has a fixed duration and the whole run is killed after
// 120 s. App: bench/apps/io20ms.mjs (20 ms of awaited I/O per request, concurrency 1 per worker).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const quick = process.argv.includes('--quick');
const PROCESSES = 8;
const ARGS = [
  `${ROOT}bench/apps/io20ms.mjs`, '--http-socket', '127.0.0.1:0', '--processes', String(PROCESSES),
  '--cheaper', '1', '--cheaper-overload', '1', '--cheaper-busyness-multiplier', '3',
  '--max-worker-lifetime', '0', '--log-format', 'json',
];
const k = quick ? 0.5 : 1;
/** [label, connections, seconds] */
const STAGES = [
  ['ramp', 1, 4 * k], ['ramp', 2, 4 * k], ['ramp', 4, 4 * k], ['ramp', 8, 4 * k],
  ['plateau', 8, 10 * k],
  ['idle', 0, 28 * k],
];
const SAMPLE_MS = 250;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const proc = spawn(process.execPath, [`${ROOT}bin/spindle.js`, ...ARGS], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => { console.error('cheaper-ramp: 120 s bound reached, stopping'); proc.kill('SIGKILL'); process.exit(2); }, 120_000);
  const events = [];
  let workers = 0;
  let url = '';
  let t0 = 0;
  let buf = '';
  const serving = new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`spindle exited with ${code}`)));
    proc.stdout.setEncoding('utf8').on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let l;
        try { l = JSON.parse(line); } catch { continue; }
        const t = t0 ? (performance.now() - t0) / 1000 : 0;
        if (l.event === 'WORKERS_READY') workers = l.workers;
        else if (l.event === 'WORKER_STARTED') { workers++; events.push({ t, kind: 'start', worker: l.worker }); }
        else if (l.event === 'WORKER_EXITED' && l.reason === 'cheaper') { workers--; events.push({ t, kind: 'cheap', worker: l.worker }); }
        else if (l.event === 'CHEAPER_SPAWN' || l.event === 'CHEAPER_STOP') events.push({ t, kind: 'decision', msg: l.msg, reason: l.reason });
        else if (l.event === 'SERVING') { url = l.addresses[0]; resolve(); }
      }
    });
  });
  proc.stderr.setEncoding('utf8').on('data', (d) => process.stderr.write(d));
  await serving;

  t0 = performance.now();
  let bucket = 0;
  let ok = 0;
  let failed = 0;
  const latencies = [];
  const samples = [];
  let stage = STAGES[0][0];
  const sampler = setInterval(() => {
    samples.push({ t: (performance.now() - t0) / 1000, workers, rps: bucket * (1000 / SAMPLE_MS), stage });
    bucket = 0;
  }, SAMPLE_MS);

  const stageEnd = [];
  for (const [label, connections, seconds] of STAGES) {
    stage = label;
    const start = (performance.now() - t0) / 1000;
    if (connections === 0) await sleep(seconds * 1000);
    else await runLoad(connections, seconds);
    stageEnd.push({ label, connections, start, end: (performance.now() - t0) / 1000 });
  }
  async function runLoad(connections, seconds) {
    await new Promise((resolve, reject) => {
      const inst = autocannon({ url: `${url}/`, connections, duration: seconds, pipelining: 1 }, (err, res) => {
        if (err) reject(err);
        else { failed += res.errors + res.timeouts; resolve(res); }
      });
      inst.on('response', (_c, status, _bytes, ms) => {
        bucket++;
        if (status === 200) ok++; else failed++;
        latencies.push(ms);
      });
    });
  }
  await sleep(SAMPLE_MS);
  clearInterval(sampler);
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  clearTimeout(killer);

  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : 0;
  const summary = {
    date: new Date().toISOString(), quick, args: ARGS.slice(1).join(' '), stages: STAGES,
    requests: ok, failed, p50ms: round1(pct(50)), p99ms: round1(pct(99)),
    peakWorkers: Math.max(...samples.map((s) => s.workers)),
    workersAtStageEnd: stageEnd.map((s) => ({ ...s, workers: (samples.findLast((x) => x.t <= s.end) ?? { workers: 0 }).workers })),
    firstSpawnS: events.find((e) => e.kind === 'start')?.t ?? null,
    peakReachedS: (() => { const peak = Math.max(...samples.map((s) => s.workers)); return samples.find((s) => s.workers === peak)?.t ?? null; })(),
    backToMinS: (() => { const idleStart = stageEnd.at(-1).start; const x = samples.find((s) => s.t >= idleStart && s.workers === 1); return x ? x.t - idleStart : null; })(),
    spawns: events.filter((e) => e.kind === 'start').length,
    cheaps: events.filter((e) => e.kind === 'cheap').length,
  };
  writeFileSync(`${ROOT}bench/cheaper-ramp.json`, JSON.stringify({ summary, samples, events }, null, 1));
  writeFileSync(`${ROOT}bench/cheaper-ramp.svg`, svg(samples, stageEnd, summary));
  console.log(JSON.stringify(summary, null, 2));
}

/** A dependency-free line chart: workers (left axis) and req/s (right axis) over time. */
function svg(samples, stages, summary) {
  const W = 860, H = 380, L = 56, R = 64, T = 40, B = 48;
  const tMax = Math.max(stages.at(-1).end, ...samples.map((s) => s.t));
  const rpsMax = niceCeil(Math.max(1, ...samples.map((s) => s.rps)));
  const x = (t) => L + (t / tMax) * (W - L - R);
  const yW = (w) => H - B - (w / PROCESSES) * (H - T - B);
  const yR = (r) => H - B - (r / rpsMax) * (H - T - B);
  const path = (f) => samples.map((s, i) => `${i ? 'L' : 'M'}${x(s.t).toFixed(1)},${f(s).toFixed(1)}`).join(' ');
  // workers as a step line
  let wPath = '';
  samples.forEach((s, i) => {
    const px = x(s.t).toFixed(1), py = yW(s.workers).toFixed(1);
    wPath += i ? ` H${px} V${py}` : `M${px},${py}`;
  });
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${L}" y="22" font-size="14" font-weight="bold">Spindle cheaper (busyness): workers and request rate over a load ramp</text>`);
  stages.forEach((s, i) => {
    const fill = s.label === 'idle' ? '#f4f4f4' : s.label === 'plateau' ? '#eef5ff' : i % 2 ? '#fbfbf2' : '#f7f7ea';
    out.push(`<rect x="${x(s.start).toFixed(1)}" y="${T}" width="${(x(s.end) - x(s.start)).toFixed(1)}" height="${H - T - B}" fill="${fill}"/>`);
    out.push(`<text x="${((x(s.start) + x(s.end)) / 2).toFixed(1)}" y="${T + 14}" text-anchor="middle" fill="#666">${s.label}${s.connections ? ` ${s.connections}c` : ''}</text>`);
  });
  for (let w = 0; w <= PROCESSES; w += 2) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${yW(w)}" y2="${yW(w)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 8}" y="${yW(w) + 4}" text-anchor="end" fill="#c0392b">${w}</text>`);
    out.push(`<text x="${W - R + 8}" y="${yW(w) + 4}" fill="#2a6fb0">${Math.round((w / PROCESSES) * rpsMax)}</text>`);
  }
  for (let t = 0; t <= tMax; t += 5) {
    out.push(`<text x="${x(t).toFixed(1)}" y="${H - B + 16}" text-anchor="middle" fill="#444">${t}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle" fill="#444">seconds</text>`);
  out.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle" fill="#c0392b">workers (max ${PROCESSES}, cheaper 1)</text>`);
  out.push(`<text transform="translate(${W - 14} ${(T + H - B) / 2}) rotate(90)" text-anchor="middle" fill="#2a6fb0">requests per second</text>`);
  out.push(`<path d="${path((s) => yR(s.rps))}" fill="none" stroke="#2a6fb0" stroke-width="1.5" opacity="0.85"/>`);
  out.push(`<path d="${wPath}" fill="none" stroke="#c0392b" stroke-width="2.5"/>`);
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#444"/>`);
  out.push(`<line x1="${L + 8}" x2="${L + 28}" y1="${T + 32}" y2="${T + 32}" stroke="#c0392b" stroke-width="2.5"/><text x="${L + 32}" y="${T + 36}" fill="#c0392b">workers</text>`);
  out.push(`<line x1="${L + 96}" x2="${L + 116}" y1="${T + 32}" y2="${T + 32}" stroke="#2a6fb0" stroke-width="1.5"/><text x="${L + 120}" y="${T + 36}" fill="#2a6fb0">req/s (250 ms buckets)</text>`);
  out.push(`<text x="${W - R}" y="${T - 6}" text-anchor="end" fill="#666">${summary.requests} requests, ${summary.failed} failed; p50 ${summary.p50ms} ms, p99 ${summary.p99ms} ms</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function round1(v) {
  return Math.round(v * 10) / 10;
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

main().catch((err) => { console.error(err); process.exit(1); });
