// Process lifecycle through the real CLI: need-app, worker deaths and crash loops, signals,
// UNIX sockets with vacuum, pidfile, process names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSpindle, get, fixture, until } from './helpers/spindle.js';

const APP = fixture('serve/app.mjs');

for (const [kind, file, reason] of [
  ['a missing file', 'apps/does-not-exist.mjs', 'not-found'],
  ['a syntax error', 'apps/broken-syntax.mjs', 'syntax'],
  ['an exception at import', 'apps/broken-throws.mjs', 'threw'],
  ['no usable export', 'apps/broken-no-export.mjs', 'no-export'],
] as const) {
  test(`need-app: ${kind} exits 22 before listening, with the cause`, async () => {
    const s = await startSpindle([fixture(file), '--http-socket', '127.0.0.1:0', '--processes', '1'], { expectExit: true });
    const { code } = await s.exited;
    assert.equal(code, 22);
    const fatal = s.lines.find((l) => l.level === 'fatal');
    assert.ok(fatal, 'a fatal line explains why');
    assert.equal(fatal.reason, reason);
    assert.ok(!s.lines.some((l) => l.event === 'SERVING'));
  });
}

for (const [kind, mule, why] of [
  ['a missing mule file', fixture('apps/does-not-exist.mjs'), /mule .*does-not-exist\.mjs: no such file/],
  // uWSGI's module form, relative to the current directory (the repository root here)
  ['a mule with an export name', 'test.fixtures.serve.app:handler', /a mule runs its module's default export; remove :handler/],
] as const) {
  test(`${kind} exits 22 before listening, as a missing app does (not a mule respawned forever)`, async () => {
    const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '1', '--mule', mule], { expectExit: true });
    let exit: { code: number | null } | undefined;
    void s.exited.then((e) => { exit = e; });
    try {
      await until(() => exit, 15000, 'spindle to exit'); // (it used to serve, respawning the mule forever)
    } finally {
      await s.stop('SIGKILL');
    }
    assert.equal(exit!.code, 22);
    const fatal = s.lines.find((l) => l.level === 'fatal');
    assert.equal(fatal?.event, 'APP_NOT_FOUND');
    assert.equal(fatal?.option, 'mule');
    assert.match(String(fatal?.msg), why);
    assert.ok(!s.lines.some((l) => l.event === 'SERVING' || l.event === 'MULE_DIED'));
  });
}

test('a pidfile or UNIX socket in a directory that does not exist: refused before anything starts, saying so, and the process exits', async () => {
  const missing = join(tmpdir(), `spindle-missing-${process.pid}`, 'sub');
  for (const [args, event, why] of [
    [['--http-socket', '127.0.0.1:0', '--pidfile', join(missing, 'app.pid')], 'START_FAILED', /pidfile = .*app\.pid cannot be written: its directory .*sub does not exist/],
    [['--http-socket', join(missing, 'app.sock')], 'LISTEN_FAILED', /its directory .*sub does not exist/],
  ] as const) {
    const s = await startSpindle([APP, '--processes', '1', ...args], { expectExit: true });
    let exit: { code: number | null } | undefined;
    void s.exited.then((e) => { exit = e; });
    try {
      await until(() => exit, 15000, 'spindle to exit'); // (a missing pidfile directory used to leave it running)
    } finally {
      await s.stop('SIGKILL');
    }
    assert.equal(exit!.code, 1);
    const fatal = s.lines.find((l) => l.level === 'fatal');
    assert.equal(fatal?.event, event);
    assert.match(String(fatal?.msg), why);
    assert.ok(!s.lines.some((l) => l.event === 'SERVING' || l.event === 'WORKERS_READY'), 'refused before the workers started');
  }
});

test('need-app = false: serves 503 with the reason until the app loads', async () => {
  const s = await startSpindle([fixture('serve/crash-on-load.mjs'), '--http-socket', '127.0.0.1:0', '--processes', '1', '--need-app=false']);
  try {
    const r = await get(`${s.url}/`);
    assert.equal(r.status, 503);
    assert.match(r.body.toString(), /no application is loaded/);
  } finally {
    await s.stop();
  }
});

test('a worker dying mid-request: 502 for its request, the worker is respawned', async () => {
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '1']);
  try {
    const r = await get(`${s.url}/exit`);
    assert.equal(r.status, 502);
    assert.match(r.body.toString(), /died/);
    await s.waitForLog((l) => l.event === 'WORKER_RESPAWNED');
    assert.equal((await get(`${s.url}/`)).status, 200);
  } finally {
    await s.stop();
  }
});

test('a crash loop is slowed down by an exponential back-off', async () => {
  const s = await startSpindle([fixture('serve/exit-on-request.mjs'), '--http-socket', '127.0.0.1:0', '--processes', '1']);
  try {
    for (let i = 0; i < 4; i++) {
      const r = await until(async () => { const x = await get(`${s.url}/`); return x.status === 502 ? x : null; }, 15000, 'a 502');
      assert.equal(r.status, 502);
    }
    const delays = s.lines.filter((l) => l.event === 'WORKER_RESPAWN_DELAYED').map((l) => Number(l.delayMs));
    assert.ok(delays.length >= 2, `back-off lines: ${delays.join(',')}`);
    for (let i = 1; i < delays.length; i++) assert.ok(delays[i]! > delays[i - 1]!, `delays grow: ${delays.join(',')}`);
  } finally {
    await s.stop();
  }
});

test('SIGTERM drains an in-flight request, then exits 0', async () => {
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '1']);
  const inflight = get(`${s.url}/slow?ms=1000&announce=1`);
  await s.waitForLog((l) => l.msg === 'app: slow request started');
  const [r, exit] = await Promise.all([inflight, s.stop('SIGTERM')]);
  assert.equal(r.status, 200);
  assert.match(r.body.toString(), /slept/);
  assert.equal(exit.code, 0);
  assert.ok(s.lines.some((l) => l.event === 'GRACEFUL_SHUTDOWN' && Number(l.inFlight) === 1));
});

test('a second SIGTERM during the drain makes it quick: the request in flight is answered 503 and the process exits', async () => {
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '1', '--worker-reload-mercy', '60']);
  const inflight = get(`${s.url}/slow?ms=30000&announce=1`);
  await s.waitForLog((l) => l.msg === 'app: slow request started');
  s.proc.kill('SIGTERM');
  await s.waitForLog((l) => l.event === 'GRACEFUL_SHUTDOWN');
  s.proc.kill('SIGTERM');
  const [r, exit] = await Promise.all([inflight, s.exited]);
  assert.equal(r.status, 503, 'answered, not left to its 30 s handler or the 60 s mercy');
  assert.equal(exit.code, 0);
  assert.deepEqual(s.lines.filter((l) => l.event === 'WORKER_DIED'), [], 'the worker is not reported dead');
  assert.ok(s.lines.some((l) => l.event === 'WORKER_EXITED' && l.reason === 'shutdown'));
});

test('SIGINT: quick shutdown, exit 0', async () => {
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '2']);
  assert.equal((await get(`${s.url}/`)).status, 200);
  const { code } = await s.stop('SIGINT');
  assert.equal(code, 0);
  assert.ok(s.lines.some((l) => l.event === 'STOPPED'));
  // The workers were ended by the master, not lost: no error line, and the reason says why.
  assert.deepEqual(s.lines.filter((l) => l.event === 'WORKER_DIED'), [], 'no worker is reported dead');
  const exits = s.lines.filter((l) => l.event === 'WORKER_EXITED');
  assert.equal(exits.length, 2, 'each worker logged as exited');
  for (const l of exits) assert.equal(l.reason, 'shutdown');
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} while the workers load the app: the server stops (exit 0, nothing served, vacuumed), and does not blame the app`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spindle-'));
    const pid = join(dir, 'app.pid');
    try {
      // The stats server and the pidfile: what start-up would create after the app loads.
      // (log-level debug: the parent's SERVER_STARTED names the server process, for the cleanup)
      const s = await startSpindle([fixture('serve/slow-load.mjs'), '--http-socket', '127.0.0.1:0', '--processes', '2',
        '--stats', '127.0.0.1:0', '--pidfile', pid, '--log-level', 'debug'], { expectExit: true });
      try {
        await s.waitForLog((l) => l.msg === 'app: loading', 15000, 'the app to start loading');
        s.proc.kill(signal);
        // (before the fix: SIGTERM left it running until worker-reload-mercy, 60 s; SIGINT exited 22)
        let exit: { code: number | null } | undefined;
        void s.exited.then((e) => { exit = e; });
        await until(() => exit, 20000, 'the server to exit');
        assert.equal(exit!.code, 0);
      } finally {
        const server = Number(s.lines.find((l) => l.event === 'SERVER_STARTED')?.serverPid);
        if (server > 0) try { process.kill(server, 'SIGKILL'); } catch { /* exited, as it should have */ }
        await s.stop('SIGKILL');
      }
      assert.ok(s.lines.some((l) => l.event === 'STOPPED'), 'the shutdown completed');
      assert.ok(!s.lines.some((l) => l.event === 'SERVING'), 'it never started serving');
      assert.deepEqual(s.lines.filter((l) => l.level === 'error' || l.level === 'fatal'), [], 'no error: the app did nothing wrong');
      assert.ok(!existsSync(pid), 'no pidfile left');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('SIGTERM during a chain reload, while the new workers load the app: the server stops cleanly and at once, the old workers answering what they hold', async () => {
  const s = await startSpindle([fixture('serve/slow-load.mjs'), '--http-socket', '127.0.0.1:0', '--processes', '2'], { timeoutMs: 30000 });
  try {
    assert.equal((await get(`${s.url}/`)).status, 200);
    const loadsBefore = s.lines.filter((l) => l.msg === 'app: loading').length;
    process.kill(s.serverPid, 'SIGHUP');
    await until(() => s.lines.filter((l) => l.msg === 'app: loading').length > loadsBefore, 15000, 'a new worker loading the app');
    s.proc.kill('SIGTERM');
    let exit: { code: number | null } | undefined;
    void s.exited.then((e) => { exit = e; });
    await until(() => exit, 15000, 'the server to exit'); // (not after worker-reload-mercy, 60 s)
    assert.equal(exit!.code, 0);
    assert.ok(s.lines.some((l) => l.event === 'STOPPED'));
    assert.deepEqual(s.lines.filter((l) => l.level === 'error' || l.level === 'fatal'), [], 'no error: nothing failed');
  } finally {
    await s.stop('SIGKILL');
  }
});

test('UNIX socket with chmod-socket, pidfile, and vacuum removing both', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-'));
  const sock = join(dir, 'app.sock');
  const pid = join(dir, 'app.pid');
  try {
    const s = await startSpindle([APP, '--http-socket', sock, '--chmod-socket', '660', '--pidfile', pid, '--processes', '1']);
    assert.equal(statSync(sock).mode & 0o777, 0o660);
    assert.equal(readFileSync(pid, 'utf8').trim(), String(s.proc.pid));
    const r = await get('http://localhost/', { socketPath: sock });
    assert.equal(r.status, 200);
    await s.stop('SIGTERM');
    assert.ok(!existsSync(sock), 'vacuum removed the socket');
    assert.ok(!existsSync(pid), 'vacuum removed the pidfile');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('process and worker names: procname-prefix on the master and in the thread names for ps -L', async () => {
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '2', '--procname-prefix', 'mysvc ']);
  try {
    const pid = s.serverPid;
    assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^mysvc spindle master/);
    const names = readdirSync(`/proc/${pid}/task`).map((t) => { try { return readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim(); } catch { return ''; } });
    // 'mysvc spindle worker 1' is over Linux's 15 bytes: the prefix and the worker id are kept
    assert.ok(names.includes('mysvc w1') && names.includes('mysvc w2'), `thread names: ${names.join(', ')}`);
  } finally {
    await s.stop();
  }
});
