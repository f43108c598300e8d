// Instructions per request, counted by valgrind (callgrind), not timed: on this shared 2-core machine
// wall-clock A/B tests of a few microseconds per request drown in noise, instruction counts do not.
// Each setup serves N1 and then N2 requests (keep-alive connections, 1 by default, one request at a
// time on each); (I(N2) - I(N1)) / (N2 - N1) is the cost of one request, start-up cancelled out.
// One connection, because under valgrind a request takes about a millisecond: with several ready
// at once a loop turn would pass the 5 ms turn budget (src/worker/turn-budget.ts) and price its
// deferral path, which hello never takes at native speed.
// `--predictable` makes V8 compile on the request thread, so optimizing compiles done between N1 and
// N2 count as per-request instructions. On Node 24 (Sparkplug and Maglev) they settle early for
// the (req, res) app, but not for the fetch app at the default N1 (stop 30, same build: 171k to
// 187k between runs; with --n1 2000 --n2 8000 two runs agreed within 0.3k). On Node 20 they do not
// settle (stop 24: Spindle 258k against a bare thread's 172k): compare Node 20 figures with each
// other, not with Node 24's, and raise --n1 for a steadier state.
//   spindle       — bin/spindle.js on the hello (req, res) app, 1 worker, default configuration
//   spindle-fetch — the same on the hello fetch app (bench/apps/hello.mjs)
//   bare-thread   — node:http in one worker thread on a descriptor bound by the main thread (the shape
//                   Spindle's workers serve on), the same handler, nothing else
//
//   node bench/request-instructions.mjs [--n1 1000] [--n2 6000] [--connections 1] [--setups spindle,spindle-fetch,bare-thread]
// Needs valgrind (apt-get install -y valgrind). Takes about a minute per setup and N.
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, workerData } from 'node:worker_threads';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

if (!isMainThread) {
  // bare-thread's worker: the bench's hello handler on the descriptor the main thread bound
  const { handlers } = await import('./servers/handlers.mjs');
  http.createServer(handlers.hello).listen({ fd: workerData.fd });
} else if (process.argv[2] === '--bare-thread') {
  const handle = net._createServerHandle('127.0.0.1', Number(process.argv[3]), 4);
  new Worker(fileURLToPath(import.meta.url), { workerData: { fd: handle.fd } });
  setInterval(() => {}, 1 << 30);
  process.on('SIGINT', () => process.exit(0));
} else {
  await main();
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
  const n1 = Number(opt('--n1', 1000));
  const n2 = Number(opt('--n2', 6000));
  const setups = opt('--setups', 'spindle,bare-thread').split(',');
  const connections = Number(opt('--connections', 1));
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.error('valgrind is not installed: apt-get install -y valgrind');
    process.exit(1);
  }
  const rows = [];
  for (const setup of setups) {
    const i1 = await count(setup, n1, connections);
    const i2 = await count(setup, n2, connections);
    rows.push({ setup, perRequest: Math.round((i2 - i1) / (n2 - n1)) });
    console.log(`${setup}: ${rows.at(-1).perRequest} instructions per request (${n1}: ${i1}, ${n2}: ${i2})`);
  }
}

/** Total instructions of a server process, under callgrind, that served `n` requests. */
async function count(setup, n, connections) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const spindleApps = { spindle: 'bench/apps/node/hello.mjs', 'spindle-fetch': 'bench/apps/hello.mjs' };
  if (!(setup in spindleApps) && setup !== 'bare-thread') throw new Error(`unknown setup ${setup}`);
  const command = setup in spindleApps
    ? [path.join(ROOT, 'bin/spindle.js'), path.join(ROOT, spindleApps[setup]), '--http-socket', `127.0.0.1:${port}`, '--processes', '1', '--disable-logging', '--no-supervise']
    : [fileURLToPath(import.meta.url), '--bare-thread', String(port)];
  const vg = spawn('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--predictable', ...command], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  vg.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => vg.once('exit', resolve));
  try {
    const deadline = Date.now() + 300_000;
    while (!(await get(port))) {
      if (Date.now() > deadline || vg.exitCode !== null) throw new Error(`${setup} did not start under valgrind:\n${err.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await load(port, n, connections);
  } finally {
    vg.kill('SIGINT');
    await exited;
  }
  const m = /Collected : (\d+)/.exec(err);
  if (!m) throw new Error(`no instruction count from callgrind:\n${err.slice(-2000)}`);
  return Number(m[1]);
}

function get(port) {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/', timeout: 2000 }, (res) => { res.resume(); res.on('end', () => resolve(true)); })
      .on('error', () => resolve(false)).on('timeout', function () { this.destroy(); });
  });
}

/** `n` GETs over `connections` keep-alive connections. */
async function load(port, n, connections) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let sent = 0;
  const worker = async () => {
    while (sent < n) {
      sent++;
      await new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
      });
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  agent.destroy();
}
