// Worker lifecycle through the real CLI: harakiri (plain, per-request, graceful, verbose, zombie),
// recycling by every trigger, chain reload (also with broken code), and zero failed requests
// under load while workers recycle and reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startSpindle, get, fixture, until, BIN, type Running } from './helpers/spindle.js';
import { execFileSync } from 'node:child_process';

const APP = fixture('serve/app.mjs');
const base = ['--http-socket', '127.0.0.1:0', '--min-worker-lifetime', '0'];

async function withServer(args: string[], fn: (s: Running) => Promise<void>): Promise<void> {
  const s = await startSpindle([APP, ...base, ...args]);
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

/** A request whose connection may be cut: its reply, or the error that ended it. */
const attempt = (url: string) => get(url).then((r) => r, (e: NodeJS.ErrnoException) => e);
const isCut = (x: unknown): boolean => x instanceof Error && /ECONNRESET|socket hang up|EPIPE/.test(`${(x as NodeJS.ErrnoException).code} ${x.message}`);

test('harakiri: a worker stuck in synchronous code is terminated at its deadline; its client loses the connection; other workers keep serving; it is replaced', () =>
  withServer(['--processes', '2', '--harakiri', '1'], async (s) => {
    const stuck = attempt(`${s.url}/spin?announce=1`);
    // Only once the stuck worker is spinning: a connection it accepted with /spin would be lost with it.
    await s.waitForLog((l) => l.msg === 'app: spinning');
    const others: number[] = [];
    for (let i = 0; i < 10; i++) others.push((await get(`${s.url}/slow?ms=50`)).status);
    assert.ok(isCut(await stuck), 'the stuck request\'s connection is closed unanswered');
    assert.deepEqual(others, new Array(10).fill(200));
    const line = await s.waitForLog((l) => l.event === 'HARAKIRI' && l.lost !== undefined);
    assert.equal(line.lost, 1, 'the log counts the request lost');
    await s.waitForLog((l) => l.event === 'WORKER_EXITED' && l.reason === 'harakiri');
    await s.waitForLog((l) => l.event === 'WORKER_RESPAWNED');
    const after = await until(async () => {
      const a = await Promise.all([get(`${s.url}/slow?ms=100`), get(`${s.url}/slow?ms=100`), get(`${s.url}/slow?ms=100`), get(`${s.url}/slow?ms=100`)]);
      const ids = new Set(a.map((x) => x.headers['x-worker']));
      return ids.size === 2 ? ids : null;
    }, 10000, 'both workers serving');
    assert.deepEqual(after, new Set(['1', '2']));
  }));

test('harakiri: a request awaiting past its deadline is answered 504 by its own worker, which keeps serving; setHarakiri(seconds) lowers the limit for one request', () =>
  withServer(['--processes', '1', '--harakiri', '60'], async (s) => {
    const started = Date.now();
    const r = await get(`${s.url}/slow?ms=30000&limit=1`);
    assert.equal(r.status, 504);
    assert.ok(Date.now() - started < 30000, 'answered at the lowered limit, not when the handler ended');
    const line = await s.waitForLog((l) => l.event === 'HARAKIRI' && l.path !== undefined);
    assert.equal(line.path, '/slow', 'the path, without its query (which may hold secrets)');
    assert.ok(!s.lines.some((l) => l.event === 'WORKER_EXITED'), 'the responsive worker was not terminated');
    assert.equal((await get(`${s.url}/`)).status, 200);
  }));

test('harakiri-graceful-timeout: the AbortSignal fires first; a worker that settles is not terminated; one that spins is', () =>
  withServer(['--processes', '1', '--harakiri', '1', '--harakiri-graceful-timeout', '5'], async (s) => {
    const r = await get(`${s.url}/abortable`);
    assert.equal(r.status, 504);
    await s.waitForLog((l) => l.event === 'HARAKIRI_GRACEFUL');
    assert.ok(!s.lines.some((l) => l.event === 'WORKER_EXITED'), 'the worker was not terminated');
    assert.equal((await get(`${s.url}/`)).status, 200);
    // A handler that cannot even see the signal is terminated once the grace runs out.
    assert.ok(isCut(await attempt(`${s.url}/spin`)));
    await s.waitForLog((l) => l.event === 'WORKER_EXITED' && l.reason === 'harakiri');
  }));

test('harakiri-verbose logs the stuck JavaScript stack before the kill', () =>
  withServer(['--processes', '1', '--harakiri', '1', '--harakiri-verbose'], async (s) => {
    assert.ok(isCut(await attempt(`${s.url}/spin`)));
    const line = await s.waitForLog((l) => l.event === 'HARAKIRI_STACK');
    const stack = (line.stack as string[]).join('\n');
    assert.match(stack, /fetch \(.*serve\/app\.mjs:\d+:\d+\)/);
  }));

test('a worker stuck in native code: marked a zombie and replaced at once', () =>
  withServer(['--processes', '1', '--harakiri', '1'], async (s) => {
    const stuck = attempt(`${s.url}/native?s=4`);
    await s.waitForLog((l) => l.event === 'ZOMBIE_THREAD');
    // The replacement serves while the zombie is still inside its native call.
    const ok = await until(async () => { const x = await get(`${s.url}/`); return x.status === 200 ? x : null; }, 10000, 'the replacement');
    assert.equal(ok.status, 200);
    assert.ok(!s.lines.some((l) => l.event === 'WORKER_EXITED' && l.reason === 'harakiri'), 'the zombie has not exited yet');
    assert.ok(isCut(await stuck), 'the zombie\'s client loses its connection once the thread ends');
  }));

test('max-requests recycles a worker (replacement first), logged with its reason', () =>
  withServer(['--processes', '1', '--max-requests', '5'], async (s) => {
    // Keep asking until the worker was replaced twice; every answer must be a 200.
    await until(async () => {
      assert.equal((await get(`${s.url}/`)).status, 200);
      return s.lines.filter((l) => l.event === 'WORKER_RECYCLE' && l.reason === 'max-requests').length >= 2;
    }, 15000, 'two recycles');
    await s.waitForLog((l) => l.event === 'WORKER_EXITED' && l.reason === 'max-requests');
  }));

test('max-worker-lifetime recycles a worker', () =>
  withServer(['--processes', '1', '--max-worker-lifetime', '1'], async (s) => {
    await s.waitForLog((l) => l.event === 'WORKER_RECYCLE' && l.reason === 'max-worker-lifetime', 15000);
    await s.waitForLog((l) => l.event === 'WORKER_EXITED' && l.reason === 'max-worker-lifetime');
    assert.equal((await get(`${s.url}/`)).status, 200);
  }));

test('reload-on-rss recycles a worker whose heap grew past the limit; evil-reload-on-rss ends it at once', async () => {
  await withServer(['--processes', '1', '--reload-on-rss', '48'], async (s) => {
    for (let i = 0; i < 8; i++) assert.equal((await get(`${s.url}/leak?mb=8`)).status, 200);
    const line = await s.waitForLog((l) => l.event === 'WORKER_RECYCLE' && l.reason === 'reload-on-rss', 15000);
    assert.ok(Number(line.heapMb) >= 48);
  });
  await withServer(['--processes', '1', '--evil-reload-on-rss', '48'], async (s) => {
    for (let i = 0; i < 8; i++) assert.equal((await get(`${s.url}/leak?mb=8`)).status, 200);
    await s.waitForLog((l) => l.event === 'WORKER_EXITED' && l.reason === 'evil-reload-on-rss', 15000);
    await until(async () => (await get(`${s.url}/`)).status === 200, 10000, 'the replacement');
  });
});

test('chain reload (SIGHUP and `spindle reload`) loads new code; broken code keeps the old workers serving', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-reload-'));
  const app = join(dir, 'app.mjs');
  const pidfile = join(dir, 'app.pid');
  const version = (v: string) => writeFileSync(app, `export default { fetch: () => new Response('${v}') };\n`);
  version('v1');
  const s = await startSpindle([app, '--http-socket', '127.0.0.1:0', '--processes', '2', '--pidfile', pidfile]);
  try {
    assert.equal((await get(`${s.url}/`)).body.toString(), 'v1');
    version('v2');
    s.proc.kill('SIGHUP');
    await s.waitForLog((l) => l.event === 'RELOAD_DONE');
    const after = await Promise.all([get(`${s.url}/`), get(`${s.url}/`), get(`${s.url}/`)]);
    assert.deepEqual(after.map((r) => r.body.toString()), ['v2', 'v2', 'v2']);

    writeFileSync(app, 'export default { fetch( => broken\n');
    const out = execFileSync(process.execPath, [BIN, 'reload', '--pidfile', pidfile], { encoding: 'utf8' });
    assert.match(out, /sent SIGHUP/);
    await s.waitForLog((l) => l.event === 'RELOAD_FAILED');
    const still = await get(`${s.url}/`);
    assert.equal(still.status, 200);
    assert.equal(still.body.toString(), 'v2');
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

async function load(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections: 16, duration: seconds });
}

test('zero failed requests under load while workers recycle (max-requests) and during repeated reloads', () =>
  withServer(['--processes', '2', '--max-requests', '300', '--max-requests-delta', '50'], async (s) => {
    const recycling = await load(`${s.url}/`, 3);
    const recycles = s.lines.filter((l) => l.event === 'WORKER_RECYCLE').length;
    assert.ok(recycles >= 2, `workers recycled ${recycles} times`);
    assert.equal(recycling.errors, 0, 'connection errors while recycling');
    assert.equal(recycling.timeouts, 0);
    assert.equal(recycling.non2xx, 0, 'non-2xx answers while recycling');

    const reloads = (async () => {
      for (let i = 1; i <= 3; i++) {
        s.proc.kill('SIGHUP');
        await until(() => s.lines.filter((l) => l.event === 'RELOAD_DONE').length >= i, 15000, `reload ${i}`);
      }
    })();
    const reloading = await load(`${s.url}/`, 4);
    await reloads;
    assert.equal(reloading.errors, 0, 'connection errors while reloading');
    assert.equal(reloading.timeouts, 0);
    assert.equal(reloading.non2xx, 0, 'non-2xx answers while reloading');
    console.log(`# lifecycle load: recycling ${recycling.requests.total} requests, ${recycles} recycles, 0 failed; reloading ${reloading.requests.total} requests, 3 reloads, 0 failed`);
  }));
