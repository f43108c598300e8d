// The server setups under comparison. Each one serves every workload with the same work
// (bench/apps/work.mjs or its Python twin) and is started on an ephemeral 127.0.0.1 port.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { hasCommand } from './proc.mjs';

export const BENCH = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT = path.dirname(BENCH);
const S = (f) => path.join(BENCH, 'servers', f);
const UWSGI_PLUGIN = '/usr/lib/uwsgi/plugins/python3_plugin.so';

export function somaxconn() {
  try { return Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim()); } catch { return NaN; }
}

function uwsgiAvailable() {
  if (!hasCommand('uwsgi')) return 'uwsgi not installed';
  if (!existsSync(UWSGI_PLUGIN)) return `uWSGI python3 plugin not found at ${UWSGI_PLUGIN}`;
  if (!hasCommand('python3')) return 'python3 not installed';
  return null;
}
const UWSGI_INSTALL = 'apt-get install -y uwsgi uwsgi-plugin-python3';

function uwsgiArgs({ port, workload, listen }) {
  const a = ['--plugin', 'python3', '--http-socket', `127.0.0.1:${port}`, '--processes', '2', '--master',
    '--wsgi-file', S('wsgi_app.py'), '--env', `BENCH_WORKLOAD=${workload}`,
    '--disable-logging', '--die-on-term', '--need-app', '--strict'];
  if (listen) a.push('--listen', String(listen));
  if (workload === 'hang1pct') a.push('--harakiri', '1');
  return a;
}

/** Extra CLI arguments for Spindle (e.g. while an option is not implemented yet): BENCH_SPINDLE_ARGS. */
const spindleExtra = () => (process.env.BENCH_SPINDLE_ARGS ?? '').split(/\s+/).filter(Boolean);

function spindleArgs({ port, workload }, more = [], appDir = 'apps') {
  const a = [path.join(ROOT, 'bin', 'spindle.js'), path.join(BENCH, appDir, `${workload}.mjs`),
    '--http-socket', `127.0.0.1:${port}`, '--processes', '2', '--disable-logging', ...more];
  // A hung request first gets its AbortSignal (answered 504 when the app settles, as this async
  // hang does); only a worker that does not settle within 1 s more is terminated.
  if (workload === 'hang1pct') a.push('--harakiri', '1', '--harakiri-graceful-timeout', '1');
  return [...a, ...spindleExtra()];
}

/** A Spindle setup: spindleArgs() plus `more`. A missing build shows as "failed to start" with the stderr tail. */
function spindleSetup(describe, more = [], appDir = 'apps') {
  return { describe, unavailable: () => null, startDeadlineMs: 20000, command: (ctx) => ({ cmd: process.execPath, args: spindleArgs(ctx, more, appDir) }) };
}

/**
 * name -> {describe, processes, unavailable(): string|null, install, command(ctx): {cmd, args, env}}
 * ctx = {port, workload}. `unavailable` returning a reason makes the setup "skipped" with `install`.
 */
export const SETUPS = {
  'node-http': {
    describe: 'plain node:http, one thread',
    unavailable: () => null,
    command: ({ port, workload }) => ({ cmd: process.execPath, args: [S('node-http.mjs'), '--port', port, '--workload', workload] }),
  },
  'node-cluster': {
    describe: 'node:cluster, 2 worker processes (primary round-robin)',
    unavailable: () => null,
    command: ({ port, workload }) => ({ cmd: process.execPath, args: [S('node-cluster.mjs'), '--port', port, '--workload', workload, '--workers', '2'] }),
  },
  'node-threads': {
    describe: 'node:http in 2 worker threads of one process accepting on one shared descriptor: Spindle\'s shape without Spindle',
    unavailable: () => null,
    command: ({ port, workload }) => ({ cmd: process.execPath, args: [S('node-threads.mjs'), '--port', port, '--workload', workload, '--workers', '2'] }),
  },
  piscina: {
    describe: 'node:http main thread + piscina 5 pool of 2 threads doing the work',
    unavailable: () => (existsSync(path.join(ROOT, 'node_modules', 'piscina')) ? null : 'piscina not installed'),
    install: 'npm ci',
    command: ({ port, workload }) => ({ cmd: process.execPath, args: [S('piscina.mjs'), '--port', port, '--workload', workload, '--workers', '2'] }),
  },
  uwsgi: {
    describe: 'uWSGI 2.0, python3 WSGI app, 2 processes + master, --http-socket, default listen (100)',
    unavailable: uwsgiAvailable,
    install: UWSGI_INSTALL,
    command: (ctx) => ({ cmd: 'uwsgi', args: uwsgiArgs(ctx) }),
  },
  'uwsgi-listen1024': {
    describe: 'as uwsgi, with --listen 1024',
    unavailable: () => {
      const u = uwsgiAvailable();
      if (u) return u;
      const s = somaxconn();
      if (s < 1024) return `net.core.somaxconn is ${s} < 1024: uWSGI refuses --listen 1024 (fix: sysctl -w net.core.somaxconn=1024)`;
      return null;
    },
    install: UWSGI_INSTALL,
    command: (ctx) => ({ cmd: 'uwsgi', args: uwsgiArgs({ ...ctx, listen: 1024 }) }),
  },
  spindle: spindleSetup('Spindle in its default configuration, 2 worker threads, running the node-http setup\'s own (req, res) handlers (bench/apps/node/): bin/spindle.js APP --http-socket --processes 2 --disable-logging', [], 'apps/node'),
  'spindle-fetch': spindleSetup('Spindle in its default configuration, the same workloads as fetch handlers (bench/apps/)'),
  'spindle-cheaper': spindleSetup('Spindle with scaling: --processes 2 --cheaper 1 (uWSGI semantics: at least 1, up to 2 workers), the node handlers', ['--cheaper', '1'], 'apps/node'),
};

export const DEFAULT_SETUPS = Object.keys(SETUPS);

/** The reference setup that ratios are computed against. */
export const BASELINE = 'node-http';
