// The first hour of a new user (issue 17), through the real CLI where there is behaviour: the
// light app entry point, the CLI's help, a port already in use, an app that listens itself, a
// TypeScript app, thread names, a second copy of the package, and the small things (load errors
// in pretty logs, mules in stats, binary cache keys).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { cache, configureLocalCore } from 'spindle';
import { startSpindle, get, fixture, until, BIN, ROOT, type Running } from './helpers/spindle.js';
import { threadName } from '../src/master/settings.js';

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30000 });

// ---- entry points by audience --------------------------------------------------------------------

/** Every module file reachable through static imports from `file` (compiled JS, relative specifiers). */
function importGraph(file: string, seen = new Set<string>(), external = new Set<string>()): { files: Set<string>; external: Set<string> } {
  if (seen.has(file)) return { files: seen, external };
  seen.add(file);
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)) {
    const spec = (m[1] ?? m[2])!;
    if (spec.startsWith('.')) importGraph(resolve(dirname(file), spec), seen, external);
    else external.add(spec);
  }
  return { files: seen, external };
}

test("'spindle' is the application API only and loads nothing of the master", async () => {
  const { files, external } = importGraph(`${ROOT}dist/src/index.js`);
  const rooms = [...files].map((f) => f.slice(`${ROOT}dist/src/`.length));
  assert.deepEqual(rooms.filter((f) => /^(master|cli|front|worker)\//.test(f)), [], 'no master, cli, front or worker module');
  for (const dep of external) assert.ok(dep.startsWith('node:') && !['node:http', 'node:net', 'node:child_process'].includes(dep), `imports ${dep}`);

  const api = await import('spindle');
  for (const internal of ['start', 'installSharedCore', 'createSharedCore', 'attachSharedCore', 'parseCacheSpec', 'cacheMemoryBytes']) {
    assert.equal(internal in api, false, `'spindle' does not export ${internal}`);
  }
  for (const name of ['cache', 'lock', 'counter', 'timer', 'cron', 'mulefunc', 'offload', 'setHarakiri', 'setProcname', 'registerSignal', 'SpindleError']) {
    assert.equal(typeof (api as Record<string, unknown>)[name], 'function', `'spindle' exports ${name}`);
  }
  const server = await import('spindle/server');
  assert.equal(typeof server.start, 'function', "'spindle/server' exports start()");

  // and at run time, in a worker thread as an app's import would: no node:http, no child_process
  const w = new Worker(`
    const { parentPort } = require('node:worker_threads');
    import('spindle').then(() => parentPort.postMessage(process.moduleLoadList.filter((m) => /^NativeModule (http|_http_server|child_process|net)$/.test(m))));`, { eval: true });
  const loaded = await new Promise((ok, fail) => { w.once('message', ok); w.once('error', fail); });
  await w.terminate();
  assert.deepEqual(loaded, []);
});

// ---- the CLI's surface ---------------------------------------------------------------------------

test('spindle --help lists every sub-command; spindle help and COMMAND --help answer', () => {
  const help = cli(['--help']);
  assert.equal(help.status, 0);
  for (const sub of ['check', 'stats', 'top', 'reload', 'stop', 'help']) assert.match(help.stdout, new RegExp(`^  spindle ${sub}\\b`, 'm'), `--help lists ${sub}`);

  const viaHelp = cli(['help']);
  assert.equal(viaHelp.status, 0, viaHelp.stderr);
  assert.equal(viaHelp.stdout, help.stdout, 'spindle help = spindle --help, not an app named "help"');

  for (const sub of ['reload', 'stop']) {
    const r = cli([sub, '--help']);
    assert.equal(r.status, 0, `${sub} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: spindle ${sub} `));
    assert.equal(r.stderr, '');
    assert.equal(cli(['help', sub]).stdout, r.stdout, `spindle help ${sub}`);
  }
  const unknown = cli(['help', 'relaod']);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /reload/, 'suggests the command meant');
});

// ---- a port already in use -----------------------------------------------------------------------

function holdPort(): Promise<Server> {
  return new Promise((ok) => { const s = createServer(); s.listen(0, '127.0.0.1', () => ok(s)); });
}

test('a port already in use: one line naming the address and its holder, before the app loads', async () => {
  const holder = await holdPort();
  const port = (holder.address() as { port: number }).port;
  try {
    for (const args of [['--http-socket', `127.0.0.1:${port}`], ['--http-socket', '127.0.0.1:0', '--stats', `127.0.0.1:${port}`]]) {
      const s = await startSpindle([fixture('serve/app.mjs'), '--processes', '1', ...args], { expectExit: true });
      const { code } = await s.exited;
      assert.equal(code, 1, 'EXIT.LISTEN');
      assert.equal(s.stderr(), '', 'nothing on stderr (no stack trace)');
      assert.equal(s.lines.length, 1, `one line: ${JSON.stringify(s.lines)}`);
      const line = s.lines[0]!;
      assert.equal(line.event, 'LISTEN_FAILED');
      assert.equal(line.address, `127.0.0.1:${port}`);
      assert.equal(line.err, undefined);
      assert.ok(String(line.msg).includes(`127.0.0.1:${port}`) && String(line.msg).includes(`pid ${process.pid}`), String(line.msg));
    }
  } finally {
    holder.close();
  }
});

// ---- an app that listens itself ------------------------------------------------------------------

for (const [form, file] of [['with a callback', 'listen-callback.mjs'], ['without a callback (Express app.listen)', 'listen-plain.mjs']] as const) {
  test(`an app that calls listen() itself, ${form}, is refused with the fix`, async () => {
    const free = await holdPort();
    const port = (free.address() as { port: number }).port;
    await new Promise((r) => free.close(r));
    const s = await startSpindle([fixture(`first-hour/${file}`), '--http-socket', '127.0.0.1:0', '--processes', '2'], { expectExit: true, env: { FIRST_HOUR_PORT: String(port) } });
    const { code } = await s.exited;
    assert.equal(code, 22, 'EXIT.APP_LOAD');
    const fatal = s.lines.find((l) => l.event === 'APP_LISTENS');
    assert.ok(fatal, `an APP_LISTENS line: ${JSON.stringify(s.lines)}`);
    assert.equal(fatal.reason, 'listens');
    const message = (fatal.err as { message: string }).message;
    assert.ok(message.includes(`listen(${port})`) && message.includes(`first-hour/${file}:`), message);
    assert.match(message, /export default app/);
    assert.doesNotMatch(s.stderr() + JSON.stringify(s.lines), /EADDRINUSE|listening by itself/);
    // the port the app wanted was never taken
    const probe = createServer();
    await new Promise<void>((ok, fail) => { probe.once('error', fail); probe.listen(port, '127.0.0.1', () => ok()); });
    probe.close();
  });
}

// ---- TypeScript apps ------------------------------------------------------------------------------

test('a .ts app: served where Node strips types, else refused with what to do', async () => {
  const strips = Boolean((process.features as { typescript?: unknown }).typescript);
  const app = fixture('first-hour/app.ts');
  if (strips) {
    const s = await startSpindle([app, '--http-socket', '127.0.0.1:0', '--processes', '1']);
    try {
      const r = await get(`${s.url}/?who=ts`);
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body.toString()), { text: 'hello ts', worker: 1 });
    } finally {
      await s.stop();
    }
  } else {
    const s = await startSpindle([app, '--http-socket', '127.0.0.1:0', '--processes', '1'], { expectExit: true });
    assert.equal((await s.exited).code, 22);
    const fatal = s.lines.find((l) => l.event === 'APP_LOAD');
    assert.equal(fatal?.reason, 'typescript', JSON.stringify(s.lines));
    const message = (fatal.err as { stack: string }).stack;
    assert.match(message, /22\.18/);
    assert.match(message, /tsc/);
    assert.doesNotMatch(message, /ERR_UNKNOWN_FILE_EXTENSION|\n\s+at /, 'the hint, not a stack');
  }
});

// ---- thread names -----------------------------------------------------------------------------------

test('thread names keep the procname prefix and the worker id within 15 bytes', () => {
  assert.equal(threadName('spindle worker 3', '', 'w3'), 'spindle w3');
  assert.equal(threadName('api spindle worker 3', 'api ', 'w3'), 'api spindle w3');
  assert.equal(threadName('mysvc spindle worker 12', 'mysvc ', 'w12'), 'mysvc w12');
  assert.equal(threadName('billing-service-eu spindle worker 7', 'billing-service-eu ', 'w7'), 'billing-serviw7');
  assert.equal(Buffer.byteLength(threadName('ééééééééé spindle worker 7', 'ééééééééé ', 'w7')), 14, 'whole characters only');
  assert.equal(threadName('short', '', 'w1'), 'short');
});

// ---- a second copy of the package ---------------------------------------------------------------

test('an app that imports another copy of spindle is reported once, loudly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-copy-'));
  try {
    const copy = join(dir, 'node_modules', 'spindle');
    mkdirSync(join(copy, 'dist'), { recursive: true });
    cpSync(`${ROOT}dist/src`, join(copy, 'dist', 'src'), { recursive: true });
    cpSync(`${ROOT}package.json`, join(copy, 'package.json'));
    writeFileSync(join(dir, 'app.mjs'), "import { cache } from 'spindle';\nexport default { fetch: () => new Response(String(cache().get('x') ?? '-')) };\n");
    // a generic mule imports the app too: workers and mule all find the copy
    const s = await startSpindle([join(dir, 'app.mjs'), '--http-socket', '127.0.0.1:0', '--processes', '2', '--mules', '1']);
    try {
      const warned = s.lines.filter((l) => l.event === 'SPINDLE_PACKAGE_COPIES');
      assert.equal(warned.length, 1, 'once, not once per thread');
      assert.equal(warned[0]!.level, 'warn');
      assert.equal(warned[0]!.app, `${copy}/`);
      assert.equal(warned[0]!.server, ROOT);
      assert.equal((await get(s.url)).status, 200, 'the app still serves');
    } finally {
      await s.stop();
    }
    // the same app with the server's own copy: no warning
    const same = await startSpindle([fixture('stats/app.mjs'), '--http-socket', '127.0.0.1:0', '--processes', '2']);
    try {
      assert.equal(same.lines.filter((l) => l.event === 'SPINDLE_PACKAGE_COPIES').length, 0);
    } finally {
      await same.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- small things ----------------------------------------------------------------------------------

test('load errors without a cause end with their message, not a stray "undefined"', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-noexport-'));
  try {
    writeFileSync(join(dir, 'app.mjs'), 'export const answer = 42;\n');
    for (const [app, reason] of [[join(dir, 'app.mjs'), 'no-export'], [dir, 'not-found']] as const) {
      const s = await startSpindle([app, '--http-socket', '127.0.0.1:0', '--processes', '1'], { expectExit: true });
      assert.equal((await s.exited).code, 22);
      const fatal = s.lines.find((l) => l.event === 'APP_LOAD');
      assert.equal(fatal?.reason, reason);
      assert.doesNotMatch((fatal.err as { stack: string }).stack, /\bundefined\s*$/);
    }
    // pretty logs (the form the issue saw)
    const pretty = cli([dir, '--http-socket', '127.0.0.1:0', '--processes', '1', '--log-format', 'pretty']);
    assert.equal(pretty.status, 22);
    assert.doesNotMatch(pretty.stdout, /^\s*undefined\s*$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mules are in the stats document and their queues in /metrics', async () => {
  const s: Running = await startSpindle([fixture('background/app.mjs'), '--http-socket', '127.0.0.1:0', '--processes', '1',
    '--mule', fixture('background/mule.mjs'), '--mules', '1', '--stats', '127.0.0.1:0', '--stats-http']);
  try {
    const stats = String(s.lines.find((l) => l.event === 'SERVING')!.stats);
    const doc = await until(async () => {
      const d = JSON.parse((await get(stats)).body.toString()) as { mules: Record<string, unknown>[] };
      return d.mules.length === 2 && d.mules.every((m) => m.status === 'idle') && d;
    }, 15000, 'two idle mules in stats');
    assert.deepEqual(doc.mules.map((m) => m.id), [1, 2]);
    assert.equal(doc.mules[0]!.pid, s.serverPid);
    assert.match(String(doc.mules[0]!.program), /mule\.mjs$/);
    for (const key of ['signals', 'signal_queue', 'thread_id', 'queue', 'delivered', 'respawns']) assert.ok(key in doc.mules[0]!, key);
    const metrics = (await get(`${stats}/metrics`)).body.toString();
    assert.match(metrics, /^spindle_mule_queue_length\{mule="1"\} 0$/m);
  } finally {
    await s.stop();
  }
});

test('cache keysBytes() gives binary keys back exactly', () => {
  configureLocalCore();
  const c = cache();
  const binary = new Uint8Array([0xff, 0x00, 0x80, 0x41]);
  c.set(binary, 'b');
  c.set('text', 't');
  const keys = c.keysBytes().map((k) => Buffer.from(k).toString('hex')).sort();
  assert.deepEqual(keys, [Buffer.from(binary).toString('hex'), Buffer.from('text').toString('hex')].sort());
  assert.ok(!c.keys().some((k) => Buffer.from(k).equals(Buffer.from(binary))), 'keys() decodes it lossily (why keysBytes exists)');
  assert.equal(c.get(c.keysBytes().find((k) => k[0] === 0xff)!), 'b', 'a key from keysBytes() finds its value');
});

// ---- use from another project ----------------------------------------------------------------------

test('the npm pack tarball, installed in another project: its bin serves, and both entry points import', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-pack-'));
  try {
    const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
    assert.equal(pack.status, 0, pack.stderr);
    const tarball = join(dir, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
    // as `npm install spindle-0.1.0.tgz` lays it out, without the registry: the dependencies are
    // the clone's (the test checks the package's own files: bin, dist, exports)
    const pkg = join(dir, 'node_modules', 'spindle');
    mkdirSync(pkg, { recursive: true });
    const untar = spawnSync('tar', ['-xzf', tarball, '-C', pkg, '--strip-components=1']);
    assert.equal(untar.status, 0, String(untar.stderr));
    symlinkSync(`${ROOT}node_modules`, join(pkg, 'node_modules'));
    mkdirSync(join(dir, 'node_modules', '.bin'));
    symlinkSync('../spindle/bin/spindle.js', join(dir, 'node_modules', '.bin', 'spindle'));
    writeFileSync(join(dir, 'package.json'), '{ "name": "myapp", "private": true, "type": "module" }\n');
    writeFileSync(join(dir, 'app.mjs'), "import { workerId } from 'spindle';\nexport default { fetch: () => new Response(`hello from worker ${workerId()}`) };\n");
    writeFileSync(join(dir, 'embed.mjs'), [
      "import { start } from 'spindle/server';",
      "const server = await start({ app: './app.mjs', processes: 1, httpSocket: '127.0.0.1:0', logLevel: 'warn' });",
      'const r = await fetch(server.addresses[0]);',
      'console.log(await r.text());',
      'await server.close();',
    ].join('\n'));

    const embedded = spawnSync(process.execPath, ['embed.mjs'], { cwd: dir, encoding: 'utf8', timeout: 30000 });
    assert.equal(embedded.status, 0, embedded.stderr);
    assert.equal(embedded.stdout.trim(), 'hello from worker 1');

    // what `npx spindle` runs: node_modules/.bin/spindle
    const s = await startSpindle(['app.mjs', '--http-socket', '127.0.0.1:0', '--processes', '1'], { cwd: dir, bin: join(dir, 'node_modules', '.bin', 'spindle') });
    try {
      assert.equal((await get(s.url)).body.toString(), 'hello from worker 1');
      assert.equal(s.lines.filter((l) => l.event === 'SPINDLE_PACKAGE_COPIES').length, 0, 'the app and the server share the installed copy');
    } finally {
      await s.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
