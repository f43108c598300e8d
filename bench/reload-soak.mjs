#!/usr/bin/env node
// Recycling racing chain reloads (issue 16, item 14): wrk with kept-alive connections against a
// server that recycles its workers (max-requests) while it gets a SIGHUP every few seconds. At
// the end exactly `processes` worker threads must be alive (stats `worker_threads`, and the
// process's thread count back where it started), RSS flat, and SIGTERM quick.
//
// --hostile adds, for the whole run, the clients of issue 16's soak: 500 slowloris connections (a
// byte of request head every second, reopened when the server closes them) and 8 clients that ask
// for a 200 MB streamed response and never read it (reopened when closed). Then wrk must see zero
// failed requests and the process's RSS must end within 100 MB of where it started.
//
//   node bench/reload-soak.mjs [--duration 60] [--connections 256] [--max-requests 200] [--hup-every 5]
//                              [--processes 2] [--hostile] [--bin bin/spindle.js] [--out FILE.md]
import path from 'node:path';
import net from 'node:net';
import { readFileSync, appendFileSync } from 'node:fs';
import { BENCH, ROOT } from './lib/setups.mjs';
import { installCleanup, spawnGroup, freePort, waitReady, sleep } from './lib/proc.mjs';
import { runWrk } from './lib/wrk.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const DURATION = Number(opt('--duration', 60));
const CONNECTIONS = Number(opt('--connections', 256));
const MAX_REQUESTS = Number(opt('--max-requests', 200));
const HUP_EVERY = Number(opt('--hup-every', 5));
const PROCESSES = Number(opt('--processes', 2));
const BIN = path.resolve(opt('--bin', path.join(ROOT, 'bin', 'spindle.js')));
const OUT = opt('--out', null);
const HOSTILE = argv.includes('--hostile');
/** How long a non-reading client stays before it is replaced (the server cuts it at socket-timeout, 10 s). */
const STREAM_CLIENT_S = 12;
installCleanup();

const status = (pid) => readFileSync(`/proc/${pid}/status`, 'utf8');
const field = (pid, name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status(pid))[1]);
const rssMb = (pid) => Math.round(field(pid, 'VmRSS') / 1024);

/** One stats document from the raw stats socket. */
function stats(port) {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let out = '';
    c.setTimeout(5000, () => c.destroy(new Error('no stats document')));
    c.on('data', (d) => { out += d; });
    c.on('end', () => { try { resolve(JSON.parse(out)); } catch (e) { reject(e); } });
    c.on('error', reject);
  });
}

const port = await freePort();
const statsPort = await freePort();
const args = [BIN, path.join(BENCH, 'apps', HOSTILE ? 'soak.mjs' : 'hello.mjs'), '--http-socket', `127.0.0.1:${port}`, '--processes', String(PROCESSES),
  '--max-requests', String(MAX_REQUESTS), '--min-worker-lifetime', '0', '--stats', `127.0.0.1:${statsPort}`, '--log-format', 'json'];
const events = {};
const server = spawnGroup(process.execPath, args, {
  label: 'spindle',
  onLine: (l) => { const e = /"event":"([A-Z_]+)"/.exec(l)?.[1]; if (e) events[e] = (events[e] ?? 0) + 1; },
});
const ready = await waitReady(`http://127.0.0.1:${port}/`, server, 20000);
if (!ready.ok) throw new Error(`spindle did not start: ${ready.reason}\n${server.out.text}`);
// Signals go to the spindle command (the supervising parent passes them on); memory and threads
// are the server process's, whose pid the stats document gives.
const pid = server.pid;
const serverPid = (await stats(statsPort)).pid;
await sleep(1000); // let start-up threads (libuv pool, offload) appear before the baseline
const start = { rss: rssMb(serverPid), threads: field(serverPid, 'Threads'), workerThreads: (await stats(statsPort)).worker_threads };

const hostile = HOSTILE ? startHostileClients(port) : null;
let hups = 0;
let peakRss = start.rss;
const hupTimer = setInterval(() => { process.kill(pid, 'SIGHUP'); hups++; }, HUP_EVERY * 1000);
const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, rssMb(serverPid)); }, 500);
const wrk = await runWrk({ url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, durationS: DURATION, threads: 2, timeoutS: 5 });
clearInterval(hupTimer);
clearInterval(rssTimer);
const hostileCounts = hostile?.stop();

// Settle: the last reload and the retiring workers finish.
let doc;
const settleBy = Date.now() + 30000;
do {
  await sleep(250);
  doc = await stats(statsPort);
} while (doc.worker_threads !== PROCESSES && Date.now() < settleBy);
await sleep(1000);
doc = await stats(statsPort);
const end = { rss: rssMb(serverPid), threads: field(serverPid, 'Threads'), workerThreads: doc.worker_threads };
const t0 = Date.now();
process.kill(pid, 'SIGTERM');
await Promise.race([server.exited, sleep(90000)]);
const stopMs = server.exitInfo ? Date.now() - t0 : -1;
await server.stop(500);

const w = wrk.parsed;
const failed = w.non2xx + w.socketErrors + w.timeouts;
const result = {
  command: `node bench/reload-soak.mjs --duration ${DURATION} --connections ${CONNECTIONS} --max-requests ${MAX_REQUESTS} --hup-every ${HUP_EVERY} --processes ${PROCESSES}${HOSTILE ? ' --hostile' : ''}`,
  requests: w.requests, rps: w.rps, failed, non2xx: w.non2xx, socketErrors: w.socketErrors, timeouts: w.timeouts, sighups: hups,
  rssStartMb: start.rss, rssPeakMb: peakRss, rssEndMb: end.rss, threadsStart: start.threads, threadsEnd: end.threads,
  workerThreadsStart: start.workerThreads, workerThreadsEnd: end.workerThreads, configured: PROCESSES,
  recycles: events.WORKER_RECYCLE ?? 0, reloads: events.RELOAD_DONE ?? 0, reloadsQueued: events.RELOAD_QUEUED ?? 0,
  superseded: events.REPLACEMENT_SUPERSEDED ?? 0, sigtermMs: stopMs,
  ...(hostileCounts ? { hostile: { ...hostileCounts, sendTimeouts: events.SEND_TIMEOUT ?? 0 } } : {}),
};
console.log(JSON.stringify(result, null, 2));
if (OUT) {
  appendFileSync(OUT, `| ${new Date().toISOString().slice(0, 16)} | ${result.requests} | ${result.failed} | ${result.sighups} | ` +
    `${result.rssStartMb} → ${result.rssEndMb} (peak ${result.rssPeakMb}) | ${result.threadsStart} → ${result.threadsEnd} | ` +
    `${result.workerThreadsEnd} / ${PROCESSES} | ${result.sigtermMs} |\n`);
}
const rssOk = !HOSTILE || (end.rss - start.rss <= 100 && failed === 0);
process.exit(end.workerThreads === PROCESSES && end.threads <= start.threads + 2 && rssOk ? 0 : 1);

/** Slowloris and non-reading clients, each reopened when it ends; stop() counts them. */
function startHostileClients(port) {
  const counts = { slowlorisOpened: 0, slowlorisClosedByServer: 0, streamOpened: 0 };
  let running = true;
  const sockets = new Set();
  const open = (kind) => {
    if (!running) return;
    const s = net.connect(port, '127.0.0.1');
    sockets.add(s);
    let drip;
    s.on('connect', () => {
      if (kind === 'slowloris') {
        counts.slowlorisOpened++;
        s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
        drip = setInterval(() => s.write('X'), 1000);
      } else {
        counts.streamOpened++;
        s.write('GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        s.pause(); // never read: the server's writes fill the socket buffers and must wait
        // A paused socket never sees the server close it (SEND_TIMEOUT at socket-timeout, counted
        // from the server's log), so it is replaced by a fresh one after a while instead.
        drip = setTimeout(() => s.destroy(), STREAM_CLIENT_S * 1000);
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearInterval(drip);
      sockets.delete(s);
      if (!running) return;
      if (kind === 'slowloris') counts.slowlorisClosedByServer++;
      setTimeout(() => open(kind), 100);
    });
  };
  for (let i = 0; i < 500; i++) open('slowloris');
  for (let i = 0; i < 8; i++) open('stream');
  return {
    stop() {
      running = false;
      for (const s of sockets) s.destroy();
      return counts;
    },
  };
}
