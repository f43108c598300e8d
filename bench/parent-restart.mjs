#!/usr/bin/env node
// Time to serving again after the server process dies (the supervising parent, option supervise):
// start `spindle`, wait until the parent holds the socket, kill the server process, and GET in a
// loop (new connection each) until a 200 comes back; count anything else seen on the way (a
// refused connection would be ECONNREFUSED). Repeated on a fresh server each run (a second crash
// within 10 s would be a crash loop, which backs off).
//
//   npx tsc -p . && node bench/parent-restart.mjs [--runs 7] [--processes 2] [--signal SIGKILL] [--app test/fixtures/serve/app.mjs]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
const runs = Number(arg('runs', 7));
const processes = arg('processes', '2');
const signal = arg('signal', 'SIGKILL');
const app = arg('app', `${ROOT}test/fixtures/serve/app.mjs`);

const get = (url) => new Promise((resolve) => {
  const req = http.get(url, { agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
  req.setTimeout(15000, () => req.destroy(new Error('timeout')));
  req.on('error', (e) => resolve(e.code ?? e.message));
});

const times = [];
for (let i = 1; i <= runs; i++) {
  const p = spawn(process.execPath, [`${ROOT}bin/spindle.js`, app, '--http-socket', '127.0.0.1:0', '--processes', processes, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  let buf = '';
  p.stdout.on('data', (d) => {
    buf += d;
    for (let j; (j = buf.indexOf('\n')) >= 0; buf = buf.slice(j + 1)) { try { lines.push(JSON.parse(buf.slice(0, j))); } catch { /* not a log line */ } }
  });
  const wait = async (pred, what) => {
    for (const until = Date.now() + 30000; Date.now() < until; await new Promise((r) => setTimeout(r, 10))) {
      const l = lines.find(pred);
      if (l) return l;
    }
    throw new Error(`run ${i}: no ${what} within 30 s`);
  };
  try {
    const serving = await wait((l) => l.event === 'SERVING', "'spindle is serving'");
    await wait((l) => l.event === 'SOCKETS_HELD', 'SOCKETS_HELD');
    const url = `${serving.addresses[0]}/`;
    await new Promise((r) => setTimeout(r, 1000)); // settle
    const killedAt = Date.now();
    process.kill(serving.pid, signal);
    const seen = {};
    for (let status; (status = await get(url)) !== 200;) seen[status] = (seen[status] ?? 0) + 1;
    const ms = Date.now() - killedAt;
    const restarted = await wait((l) => l.event === 'SERVER_RESTARTED', 'SERVER_RESTARTED');
    times.push(ms);
    console.log(`run ${i}: first 200 ${ms} ms after ${signal} (the parent's downMs ${restarted.downMs}); other outcomes on the way: ${JSON.stringify(seen)}`);
  } finally {
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  }
}
times.sort((a, b) => a - b);
console.log(`${signal}, processes = ${processes}: median ${times[Math.floor(times.length / 2)]} ms, min ${times[0]} ms, max ${times.at(-1)} ms over ${times.length} runs`);
