#!/usr/bin/env node
// Lifecycle benchmarks of issue 6 (wrk on 127.0.0.1, bounded; server on all CPUs, wrk pinned to the last one):
//   harakiri  — the client's experience of a harakiri: uWSGI (measured: empty reply + closed connection,
//               then a respawn gap) beside Spindle (expected: 504 within harakiri + 0.2 s, no gap);
//   reload    — failed requests under wrk during N reloads: PM2 cluster `pm2 reload`, node:cluster rolling
//               restart (SIGHUP, bench/servers/node-cluster.mjs), uWSGI graceful reload (SIGHUP), Spindle SIGHUP;
//   recycle   — failed requests under wrk with max-requests 100: uWSGI vs Spindle;
//   shutdown  — SIGTERM while 64 keep-alive connections loop on a 20 ms request: every request the
//               server took must be answered 2xx (a refused new connection is fine: nothing was taken).
// Spindle rows run in its default configuration.
// Not here: the harakiri storm is the hang1pct workload of bench/run.mjs.
//
//   node bench/lifecycle.mjs [--quick] [--only harakiri,reload,recycle,shutdown] [--setups uwsgi,spindle,...]
//                            [--no-install] [--out FILE.md]
import net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { BENCH, ROOT } from './lib/setups.mjs';
import { installCleanup, addCleanup, spawnGroup, freePort, waitReady, httpGet, hasCommand, sleep } from './lib/proc.mjs';
import { runWrk } from './lib/wrk.mjs';
import { median } from './lib/stats.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const QUICK = argv.includes('--quick');
const ONLY = opt('--only', 'harakiri,reload,recycle,shutdown').split(',');
const SETUP_FILTER = opt('--setups', null)?.split(',');
const OUT = opt('--out', null);
const NO_INSTALL = argv.includes('--no-install');
const NCPU = cpus().length;
const SERVER_CPUS = NCPU >= 2 ? `0-${NCPU - 1}` : undefined;
const WRK_CPU = NCPU >= 2 ? String(NCPU - 1) : undefined;
const want = (s) => !SETUP_FILTER || SETUP_FILTER.includes(s);
installCleanup();

const PM2_INSTALL = 'npm install --prefix bench/.tools pm2@7';
const UWSGI_INSTALL = 'apt-get install -y uwsgi uwsgi-plugin-python3';
const uwsgiMissing = () => (!hasCommand('uwsgi') || !existsSync('/usr/lib/uwsgi/plugins/python3_plugin.so') ? `uWSGI missing (install: ${UWSGI_INSTALL})` : null);

// ---- server commands ----------------------------------------------------------------------------------
function uwsgiCmd(port, { workload = 'hello', processes = 2, extra = [] } = {}) {
  return { cmd: 'uwsgi', args: ['--plugin', 'python3', '--http-socket', `127.0.0.1:${port}`, '--processes', String(processes), '--master',
    '--wsgi-file', path.join(BENCH, 'servers', 'wsgi_app.py'), '--env', `BENCH_WORKLOAD=${workload}`, '--disable-logging', '--die-on-term',
    '--need-app', '--strict', ...extra] };
}
function spindleCmd(port, { workload = 'hello', processes = 2, extra = [] } = {}) {
  return { cmd: process.execPath, args: [path.join(ROOT, 'bin', 'spindle.js'), path.join(BENCH, 'apps', `${workload}.mjs`),
    '--http-socket', `127.0.0.1:${port}`, '--processes', String(processes), '--disable-logging', ...extra,
    ...(process.env.BENCH_SPINDLE_ARGS ?? '').split(/\s+/).filter(Boolean)] };
}
function nodeHttpCmd(port, workload = 'hello') {
  return { cmd: process.execPath, args: [path.join(BENCH, 'servers', 'node-http.mjs'), '--port', String(port), '--workload', workload] };
}
function clusterCmd(port) {
  return { cmd: process.execPath, args: [path.join(BENCH, 'servers', 'node-cluster.mjs'), '--port', String(port), '--workload', 'hello', '--workers', '2'] };
}

async function start(label, build, onLine) {
  const port = await freePort();
  const { cmd, args } = build(port);
  const h = spawnGroup(cmd, args, { cpus: SERVER_CPUS, label, onLine });
  const ready = await waitReady(`http://127.0.0.1:${port}/`, h, 20000);
  if (!ready.ok) {
    await h.stop(500);
    const tail = h.out.text.trim().split('\n').filter(Boolean).slice(-5).join(' | ');
    return { error: `${label}: failed to start: ${ready.reason}${tail ? ` — ${tail}` : ''}` };
  }
  return { h, port };
}

// ---- harakiri: the client's view ------------------------------------------------------------------------
/** Send one raw GET and report what the client sees: status line or how the connection ended, and when. */
function rawRequest(port, pathname, timeoutMs) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = net.connect(port, '127.0.0.1');
    let buf = '', done = false;
    const finish = (how) => { if (done) return; done = true; s.destroy(); resolve({ ms: performance.now() - t0, ...how }); };
    s.setTimeout(timeoutMs, () => finish({ outcome: `no answer within ${timeoutMs} ms` }));
    s.on('connect', () => s.write(`GET ${pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      if (m) finish({ outcome: `HTTP ${m[1]}`, status: Number(m[1]) });
    });
    s.on('end', () => finish({ outcome: buf.length ? `closed after ${buf.length} bytes, no status line` : 'empty reply, connection closed (EOF)' }));
    s.on('error', (e) => finish({ outcome: `connection error ${e.code}` }));
  });
}

async function harakiriExperience(label, build, trials) {
  const st = await start(label, build);
  if (st.error) return { label, error: st.error };
  const rows = [];
  try {
    for (let i = 0; i < trials; i++) {
      const r = await rawRequest(st.port, `/hang?trial=${i}`, 10000);
      const t1 = performance.now();
      let gapMs = NaN, next = '';
      try { const g = await httpGet(`http://127.0.0.1:${st.port}/`, { timeoutMs: 10000 }); gapMs = performance.now() - t1; next = `HTTP ${g.status}`; } catch (e) { next = e.code ?? e.message; }
      rows.push({ ...r, gapMs, next });
      await sleep(300);
    }
  } finally { await st.h.stop(1000); }
  return { label, rows };
}

// ---- reload / recycle under wrk ---------------------------------------------------------------------------
function ensurePm2() {
  const bin = path.join(BENCH, '.tools', 'node_modules', '.bin', 'pm2');
  if (existsSync(bin)) return { bin };
  if (NO_INSTALL) return { error: `pm2 not installed (--no-install); install: ${PM2_INSTALL}` };
  try {
    console.error(`lifecycle: installing PM2 for the reload comparison: ${PM2_INSTALL}`);
    execFileSync('npm', ['install', '--prefix', path.join(BENCH, '.tools'), 'pm2@7', '--no-audit', '--no-fund', '--loglevel=error'], { stdio: 'inherit', timeout: 240000 });
  } catch (e) { return { error: `could not install pm2 (${String(e.message).split('\n')[0]}); install: ${PM2_INSTALL}` }; }
  return existsSync(bin) ? { bin } : { error: `pm2 binary missing after install; install: ${PM2_INSTALL}` };
}

/** PM2 cluster mode (2 instances) of bench/servers/pm2-app.cjs, isolated in its own PM2_HOME. */
async function startPm2() {
  const p = ensurePm2();
  if (p.error) return { skipped: p.error };
  const home = mkdtempSync(path.join(tmpdir(), 'bench-pm2-'));
  const port = await freePort();
  const env = { ...process.env, PM2_HOME: home, PORT: String(port) };
  const pm2 = (...a) => execFileSync(p.bin, a, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 }).toString();
  const kill = () => { try { pm2('kill'); } catch { /* gone */ } rmSync(home, { recursive: true, force: true }); };
  const remove = addCleanup(kill);
  try { pm2('start', path.join(BENCH, 'servers', 'pm2-app.cjs'), '-i', '2', '--name', 'bench-hello'); } catch (e) {
    remove(); kill(); return { error: `pm2: failed to start: ${String(e.stderr ?? e.message).slice(-500)}` };
  }
  const t0 = performance.now();
  while (performance.now() - t0 < 20000) {
    try { const r = await httpGet(`http://127.0.0.1:${port}/`); if (r.status === 200) break; } catch { /* not yet */ }
    await sleep(100);
  }
  return { port, reload: async () => { pm2('reload', 'bench-hello'); }, stop: async () => { remove(); kill(); } };
}

/** Run wrk for durationS while calling reload() `count` times, spread over the run. */
async function underLoad({ port, durationS, reload, count }) {
  const wrkP = runWrk({ url: `http://127.0.0.1:${port}/`, connections: 64, durationS, cpus: WRK_CPU });
  let done = 0;
  const reloadTimes = [];
  if (reload && count > 0) {
    const spacing = ((durationS - 2) * 1000) / count;
    await sleep(1000);
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const due = t0 + i * spacing;
      if (performance.now() < due) await sleep(due - performance.now());
      if (performance.now() - t0 > (durationS - 1.5) * 1000) break;
      const r0 = performance.now();
      await reload();
      reloadTimes.push(performance.now() - r0);
      done++;
    }
  }
  const w = await wrkP;
  const p = w.parsed;
  return { requests: p.requests, rps: p.rps, failed: p.socketErrors + p.non2xx + p.timeouts, detail: `connect ${p.connectErrors}, read ${p.readErrors}, write ${p.writeErrors}, timeout ${p.timeouts}, non-2xx ${p.non2xx}`, reloads: done, reloadMs: median(reloadTimes) };
}

async function reloadCase(label, starter, durationS, count) {
  const st = await starter();
  if (st.skipped) return { label, skipped: st.skipped };
  if (st.error) return { label, error: st.error };
  try {
    const r = await underLoad({ port: st.port, durationS, reload: st.reload, count });
    return { label, ...r, unverified: st.unverified?.() ?? 0 };
  } finally { await st.stop(); }
}

let unverified = 0; // reloads whose completion line did not show within 10 s
const signalReload = (label, build, { waitLine }) => async () => {
  let seen = 0; // occurrences of waitLine in the server's output (counted per line: the tail buffer is bounded)
  const st = await start(label, build, (line) => { if (line.includes(waitLine)) seen++; });
  if (st.error) return st;
  unverified = 0;
  return {
    unverified: () => unverified,
    port: st.port,
    reload: async () => {
      // wait for the server's own "reload complete" line (node-cluster: RELOADED; uWSGI: its last worker
      // spawned again; Spindle: "chain reload complete"), so the time is the reload's and it is verified
      const before = seen;
      process.kill(st.h.pid, 'SIGHUP');
      const t0 = performance.now();
      while (seen === before && performance.now() - t0 < 10000) await sleep(20);
      if (seen === before) unverified++;
    },
    stop: () => st.h.stop(1000),
  };
};

// ---- main ---------------------------------------------------------------------------------------------------
const fx = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const L = ['# Lifecycle benchmarks', '', `Command: \`node bench/lifecycle.mjs ${argv.join(' ')}\` — Node ${process.version}, ${new Date().toISOString()}. ` +
  `Server \`taskset -c ${SERVER_CPUS ?? 'none'}\`, wrk \`taskset -c ${WRK_CPU ?? 'none'}\` (1 thread, 64 connections), 127.0.0.1 only.`, ''];
if (!hasCommand('wrk') && (ONLY.includes('reload') || ONLY.includes('recycle'))) {
  console.error('lifecycle: wrk is not installed: apt-get install -y wrk');
  process.exit(2);
}

if (ONLY.includes('harakiri')) {
  const trials = QUICK ? 2 : 5;
  L.push('## Harakiri: what the client sees (`--harakiri 1`, 1 worker, GET /hang never answers)', '');
  L.push('Respawn gap = time from the end of the hung request until a following GET / is answered (1 worker, so it waits for the replacement).', '');
  L.push('| server | trial | client sees | after (ms) | next GET / | respawn gap (ms) |', '|---|---:|---|---:|---|---:|');
  const cases = [];
  if (want('uwsgi')) cases.push(uwsgiMissing() ? { label: 'uwsgi', skipped: uwsgiMissing() } : await harakiriExperience('uwsgi', (p) => uwsgiCmd(p, { workload: 'hang1pct', processes: 1, extra: ['--harakiri', '1'] }), trials));
  if (want('spindle')) cases.push(await harakiriExperience('spindle', (p) => spindleCmd(p, { workload: 'hang1pct', processes: 1, extra: ['--harakiri', '1'] }), trials));
  for (const c of cases) {
    if (c.skipped || c.error) { L.push(`| ${c.label} | — | ${c.skipped ? `skipped: ${c.skipped}` : c.error} | | | |`); continue; }
    c.rows.forEach((r, i) => L.push(`| ${c.label} | ${i + 1} | ${r.outcome} | ${fx(r.ms)} | ${r.next} | ${fx(r.gapMs)} |`));
  }
  L.push('', 'Spindle target: 504 within harakiri + 0.2 s (≤ 1200 ms here) and no gap for other requests.', '');
}

if (ONLY.includes('reload')) {
  const D = QUICK ? 4 : 20, R = QUICK ? 2 : 10;
  L.push(`## Reload under load: ${R} reloads during ${D} s of wrk (hello, 64 connections)`, '');
  L.push('Reload time: until `pm2 reload` returns, or from the signal until the server logs that the reload is complete.', '');
  L.push('| server | reloads done | median reload ms | requests | failed | failure detail |', '|---|---:|---:|---:|---:|---|');
  const cases = [];
  if (want('pm2')) cases.push(await reloadCase('pm2 (cluster, 2 instances, `pm2 reload`)', startPm2, D, R));
  if (want('node-cluster')) cases.push(await reloadCase('node:cluster rolling restart (SIGHUP)', signalReload('node-cluster', clusterCmd, { waitLine: 'RELOADED' }), D, R));
  if (want('uwsgi')) cases.push(uwsgiMissing() ? { label: 'uwsgi', skipped: uwsgiMissing() } : await reloadCase('uWSGI graceful reload (SIGHUP), --http-socket', signalReload('uwsgi', (p) => uwsgiCmd(p), { waitLine: 'spawned uWSGI worker 2' }), D, R));
  if (want('spindle')) cases.push(await reloadCase('Spindle chain reload (SIGHUP)', signalReload('spindle', (p) => spindleCmd(p), { waitLine: 'chain reload complete' }), D, R));
  for (const c of cases) {
    if (c.skipped || c.error) { L.push(`| ${c.label} | — | | | | ${c.skipped ? `skipped: ${c.skipped}` : c.error} |`); continue; }
    L.push(`| ${c.label} | ${c.reloads}${c.unverified ? ` (${c.unverified} not confirmed by the server's log)` : ''} | ${fx(c.reloadMs)} | ${c.requests} | **${c.failed}** | ${c.detail} |`);
  }
  L.push('', 'Spindle target: zero failed requests.', '');
}

if (ONLY.includes('recycle')) {
  const D = QUICK ? 3 : 20;
  L.push(`## Recycling under load: max-requests 100, ${D} s of wrk (hello, 64 connections)`, '');
  L.push('| server | requests | req/s | failed | failure detail |', '|---|---:|---:|---:|---|');
  const cases = [];
  const plain = (label, build) => async () => { const st = await start(label, build); return st.error ? st : { port: st.port, stop: () => st.h.stop(1000) }; };
  if (want('uwsgi')) cases.push(uwsgiMissing() ? { label: 'uwsgi', skipped: uwsgiMissing() } : await reloadCase('uWSGI --max-requests 100', plain('uwsgi', (p) => uwsgiCmd(p, { extra: ['--max-requests', '100'] })), D, 0));
  if (want('spindle')) cases.push(await reloadCase('Spindle --max-requests 100', plain('spindle', (p) => spindleCmd(p, { extra: ['--max-requests', '100'] })), D, 0));
  for (const c of cases) {
    if (c.skipped || c.error) { L.push(`| ${c.label} | | | | ${c.skipped ? `skipped: ${c.skipped}` : c.error} |`); continue; }
    L.push(`| ${c.label} | ${c.requests} | ${fx(c.rps)} | **${c.failed}** | ${c.detail} |`);
  }
  L.push('', 'Spindle target: zero failed requests.', '');
}

if (ONLY.includes('shutdown')) {
  const CONNS = 64, BEFORE_MS = QUICK ? 1000 : 3000;
  L.push(`## Shutdown under load: SIGTERM after ${BEFORE_MS / 1000} s of ${CONNS} keep-alive connections looping on GET (io20ms: 20 ms awaited per request)`, '');
  L.push('Each connection sends its next request as soon as the last response arrives, and stops when a response says `Connection: close`. ' +
    '**failed** = requests the server took but did not answer 2xx: cut (connection closed or reset with the request unanswered) plus non-2xx. ' +
    'Connections refused after the signal took no request and are listed apart.', '');
  L.push('| server | answered 2xx | after the signal | failed | cut | non-2xx | refused after the signal | exit |', '|---|---:|---:|---:|---:|---:|---:|---|');
  const cases = [];
  if (want('node-http')) cases.push(await shutdownUnderLoad('node:http (server.close() on SIGTERM)', (p) => nodeHttpCmd(p, 'io20ms'), CONNS, BEFORE_MS));
  if (want('spindle')) cases.push(await shutdownUnderLoad('Spindle (SIGTERM: die-on-term drain)', (p) => spindleCmd(p, { workload: 'io20ms' }), CONNS, BEFORE_MS));
  for (const c of cases) {
    if (c.error) { L.push(`| ${c.label} | | | | | | | ${c.error} |`); continue; }
    L.push(`| ${c.label} | ${c.ok} | ${c.okAfter} | **${c.cut + c.non2xx}** | ${c.cut} | ${c.non2xx} | ${c.refused} | ${c.exit} |`);
  }
  L.push('', 'Spindle target: zero failed requests.', '');
}
L.push('Harakiri storm: measured by the `hang1pct` workload of `bench/run.mjs`.', '');

/** Keep-alive connections looping on GET; SIGTERM after beforeMs; counts what each request became. */
async function shutdownUnderLoad(label, build, conns, beforeMs) {
  const st = await start(label, build);
  if (st.error) return { label, error: st.error };
  const c = { label, ok: 0, okAfter: 0, cut: 0, non2xx: 0, refused: 0, exit: '' };
  let signalled = false;
  const connection = () => new Promise((resolve) => {
    const s = net.connect(st.port, '127.0.0.1');
    let buf = Buffer.alloc(0), pending = false, connected = false, closing = false;
    const send = () => { pending = true; s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'); };
    s.on('connect', () => { connected = true; send(); });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const len = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        buf = buf.subarray(end + 4 + len);
        pending = false;
        const status = Number(head.slice(9, 12));
        if (status >= 200 && status < 300) { c.ok++; if (signalled) c.okAfter++; } else c.non2xx++;
        if (/\r\nconnection:\s*close/i.test(head)) { closing = true; s.end(); return; }
        send();
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      if (!connected) { if (signalled) c.refused++; resolve(signalled ? 'stop' : 'again'); return; }
      if (pending) c.cut++;
      resolve(signalled || closing ? 'stop' : 'again');
    });
  });
  const loops = Array.from({ length: conns }, async () => { while ((await connection()) === 'again' && !signalled); });
  await sleep(beforeMs);
  const exited = st.h.exited.then((i) => i.signal ?? `code ${i.code}`);
  signalled = true;
  process.kill(st.h.pid, 'SIGTERM');
  const timeout = sleep(30000).then(() => 'still running after 30 s');
  c.exit = await Promise.race([exited, timeout]);
  await Promise.race([Promise.all(loops), sleep(5000)]);
  await st.h.stop(1000);
  return c;
}

const md = L.join('\n');
if (OUT) { writeFileSync(path.resolve(OUT), md); console.log(`lifecycle: wrote ${OUT}`); }
console.log(md);
