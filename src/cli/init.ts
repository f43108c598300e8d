// `spindle init [APP] [--output FILE] [--force] [--no-measure]`: write a commented production ini
// for the app in the current directory, sized from the machine (CPUs, memory) and from the app's
// own start-up, measured by loading it once in a worker thread as Spindle does.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { resolveAppModule, MODULE_EXTENSIONS } from '../config/app-module.js';
import { EXIT } from '../errors.js';
import { processIO, type CliIO } from './io.js';
import { plan, renderIni, type Machine, type StartUp } from './init-plan.js';
import type { ProbeFailure, ProbeResult } from '../protocol/init-probe.js';
import { toWire } from '../protocol/errors.js';

const USAGE = `Usage: spindle init [APP] [--output FILE] [--force] [--no-measure]

Writes a commented production ini (default spindle.ini) for the app in the current directory:
processes, worker memory limits and timeouts sized from this machine and from the app's measured
start-up (it is loaded once in a worker thread, as Spindle loads it). APP defaults to package.json's
"main", else the first of app, server, index, main (.js, .mjs, .cjs, .ts) here or in src/.
An existing file is kept unless --force is given. --no-measure skips loading the app.
`;

const PROBE_TIMEOUT_MS = 60_000;

export async function runInit(argv: string[], io: CliIO = processIO, cwd = process.cwd()): Promise<number> {
  let output = 'spindle.ini';
  let force = false;
  let measure = true;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') { io.out(USAGE); return EXIT.OK; }
    if (a === '--force' || a === '-f') force = true;
    else if (a === '--no-measure') measure = false;
    else if (a === '--output' || a === '-o') {
      if (argv[i + 1] === undefined) { io.err(`spindle init: ${a} needs a file name\n`); return EXIT.CONFIG; }
      output = argv[++i]!;
    } else if (a.startsWith('--output=')) output = a.slice('--output='.length);
    else if (a.startsWith('-')) { io.err(`spindle init: unknown flag ${a}\n${USAGE}`); return EXIT.CONFIG; }
    else positionals.push(a);
  }
  if (positionals.length > 1) { io.err(`spindle init: only one APP can be given\n`); return EXIT.CONFIG; }

  const target = resolve(cwd, output);
  if (existsSync(target) && !force) {
    io.err(`spindle init: ${output} already exists; keep it, write elsewhere with --output FILE, or overwrite it with --force\n`);
    return EXIT.CONFIG;
  }
  const entry = positionals[0] !== undefined ? { spec: positionals[0], found: 'given on the command line' } : detectEntry(cwd);
  if (!entry) {
    io.err(`spindle init: no app entry found in ${cwd}: looked for package.json "main" and ${CANDIDATES.slice(0, 4).join(', ')}, … (also in src/); give it: spindle init path/to/app.js\n`);
    return EXIT.CONFIG;
  }
  const app = resolveAppModule(entry.spec, cwd);
  if (app.error) { io.err(`spindle init: ${app.error}\n`); return EXIT.CONFIG; }

  let start: StartUp | undefined;
  if (measure) {
    const r = await probe(app.path, app.exportName);
    if (!r.ok) {
      io.err(`spindle init: the app could not be loaded, so it could not be measured: ${r.error.message}\nFix it (or pass --no-measure to write the file with sizes from the machine only).\n`);
      return EXIT.APP_LOAD;
    }
    start = r;
  }
  const machine = thisMachine();
  const p = plan(machine, start);
  const shown = relative(cwd, app.path).startsWith('..') ? app.path : relative(cwd, app.path);
  writeFileSync(target, renderIni({ app: entry.spec.includes(':') ? entry.spec : shown, found: entry.found, machine, start, plan: p, date: new Date().toISOString().slice(0, 10) }));
  io.out(`wrote ${output}: ${p.processes} workers, worker-heap-limit ${p.heapLimitMb}MB, harakiri ${p.harakiriS}s` +
    (start ? `; the app loads in ${Math.round(start.ms)} ms with ${Math.ceil(start.heapBytes / 1024 / 1024)} MB of heap` : '') +
    `\ncheck it: spindle check --ini ${output}\nserve:    spindle --ini ${output}\n`);
  return EXIT.OK;
}

const STEMS = ['app', 'server', 'index', 'main'];
const CANDIDATES = ['', 'src/'].flatMap((dir) => STEMS.flatMap((s) => MODULE_EXTENSIONS.slice(0, 4).map((e) => `${dir}${s}${e}`)));

/** package.json "main" when that file exists, else the first conventional entry file. */
function detectEntry(cwd: string): { spec: string; found: string } | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { main?: unknown };
    if (typeof pkg.main === 'string' && existsSync(join(cwd, pkg.main))) return { spec: pkg.main, found: 'package.json "main"' };
  } catch { /* no or unreadable package.json: look for the usual names */ }
  const hit = CANDIDATES.find((c) => existsSync(join(cwd, c)));
  return hit ? { spec: hit, found: `the first of app, server, index, main (.js, .mjs, .cjs, .ts) found in the directory` } : undefined;
}

function thisMachine(): Machine {
  const limit = process.constrainedMemory?.() ?? 0;
  let somaxconn: number | undefined;
  try {
    somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim()) || undefined;
  } catch { /* not Linux */ }
  return {
    cpus: availableParallelism(),
    memoryBytes: limit > 0 && limit < totalmem() ? limit : totalmem(),
    ...(somaxconn ? { somaxconn } : {}),
  };
}

/** Loads the app once in a worker thread (its output discarded) and reports the load time and heap. */
function probe(appPath: string, exportName: string | undefined): Promise<ProbeResult | ProbeFailure> {
  return new Promise((resolveProbe) => {
    const worker = new Worker(new URL('./init-probe.js', import.meta.url), { workerData: { appPath, exportName }, stdout: true, stderr: true });
    worker.stdout.resume();
    worker.stderr.resume();
    const done = (r: ProbeResult | ProbeFailure) => {
      clearTimeout(timer);
      resolveProbe(r);
      void worker.terminate(); // the app may hold timers or connections open
    };
    const timer = setTimeout(() => done({ ok: false, error: { name: 'Error', message: `it did not finish loading within ${PROBE_TIMEOUT_MS / 1000}s` } }), PROBE_TIMEOUT_MS);
    worker.once('message', done);
    worker.once('error', (err) => done({ ok: false, error: toWire(err) }));
    worker.once('exit', (code) => done({ ok: false, error: { name: 'Error', message: `the worker exited (code ${code}) while loading it` } }));
  });
}
