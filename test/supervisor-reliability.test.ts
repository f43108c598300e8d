// The worker supervisor under stress, through the real CLI (the workers accept their own connections):
// max-requests within min-worker-lifetime, recycling racing chain reloads (no orphaned thread),
// SIGHUPs coalesced during a reload, a pidfile that does not follow a planted link and a stop
// that does not signal a reused pid, the HARAKIRI line naming the stuck request and listing the
// lost ones, and memory outside the V8 heap counted by reload-on-rss and the stats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { Agent } from 'node:http';
import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSpindle, get, fixture, until, rawStats, BIN, ROOT, type Running, type LogLine } from './helpers/spindle.js';
import { settingsFromConfig } from '../src/master/settings.js';
import { loadConfig } from '../src/config/index.js';

const APP = fixture('supervisor/app.mjs');
const base = ['--http-socket', '127.0.0.1:0'];

async function withServer(args: string[], fn: (s: Running) => Promise<void>, env?: Record<string, string>): Promise<void> {
  const s = await startSpindle([APP, ...base, ...args], { env });
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

const statsOf = async (s: Running): Promise<Record<string, any>> => // eslint-disable-line @typescript-eslint/no-explicit-any
  JSON.parse(await rawStats(s.lines.find((l) => l.event === 'SERVING')!.stats as string));

/** The process's thread count (main, libuv pool, V8 platform, and every worker thread). */
const threadsOf = (pid: number): number => Number(/^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

const attempt = (url: string) => get(url).then((r) => r, (e: Error) => e);

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('13: max-requests waits for min-worker-lifetime (no --min-worker-lifetime 0 here)', () =>
  withServer(['--processes', '1', '--max-requests', '3', '--min-worker-lifetime', '3'], async (s) => {
    // Far past max-requests at once: the worker is younger than 3 s, so it is not recycled yet.
    for (let i = 0; i < 10; i++) assert.equal((await get(`${s.url}/`)).status, 200);
    const recycle = await s.waitForLog((l) => l.event === 'WORKER_RECYCLE' && l.reason === 'max-requests', 15000, 'the max-requests recycle');
    assert.ok((recycle.lifetimeMs as number) >= 3000, `recycled at ${recycle.lifetimeMs} ms, before min-worker-lifetime (3000 ms)`);
    assert.ok((recycle.served as number) >= 10);
    await s.waitForLog((l) => l.event === 'WORKER_EXITED' && l.reason === 'max-requests');
    assert.equal((await get(`${s.url}/`)).status, 200);
  }));

test('14: recycling (max-requests 20) racing 20 chain reloads leaves exactly the configured workers, and no extra thread', () =>
  withServer(['--processes', '2', '--max-requests', '20', '--min-worker-lifetime', '0', '--stats', '127.0.0.1:0'], async (s) => {
    const pid = s.serverPid; // the server process (signals go to the parent, which passes them on)
    const threadsAtStart = threadsOf(pid);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    let running = true;
    let ok = 0;
    const failed: string[] = [];
    const loop = async () => {
      while (running) {
        const r = await get(`${s.url}/`, { agent }).then((x) => x.status, (e: Error) => e.message);
        if (r === 200) ok++; else failed.push(String(r));
      }
    };
    const clients = Array.from({ length: 16 }, loop);
    try {
      for (let i = 0; i < 20; i++) {
        await sleep(500); // the pace of the SIGHUPs (not a synchronisation)
        s.proc.kill('SIGHUP');
      }
    } finally {
      running = false;
      await Promise.all(clients);
      agent.destroy();
    }
    assert.ok(ok > 200, `served ${ok}`);
    assert.deepEqual(failed, [], 'no request failed');
    // Reloads and retiring workers settle: then exactly the 2 configured worker threads live.
    const count = (event: string) => s.lines.filter((l) => l.event === event).length;
    const doc = await until(async () => {
      const d = await statsOf(s);
      return d.worker_threads === 2 && count('RELOAD_START') === count('RELOAD_DONE') + count('RELOAD_FAILED') ? d : null;
    }, 30000, 'exactly 2 worker threads alive').catch(async (e: Error) => {
      throw new Error(`${e.message}: stats show worker_threads = ${(await statsOf(s)).worker_threads}`);
    });
    assert.equal(doc.workers.filter((w: { accepting: number }) => w.accepting === 1).length, 2);
    assert.ok(s.lines.some((l) => l.event === 'WORKER_RECYCLE' && l.reason === 'max-requests'), 'max-requests recycled workers');
    // The process has as many threads as at the start (a spare one or two for libuv's lazy pool).
    const threads = await until(() => { const n = threadsOf(pid); return n <= threadsAtStart + 2 ? n : null; }, 10000, 'the thread count back to its start')
      .catch(() => { throw new Error(`threads: ${threadsAtStart} at the start, ${threadsOf(pid)} at the end`); });
    assert.ok(threads <= threadsAtStart + 2);
    // A graceful stop finds nothing left to wait for.
    const started = Date.now();
    const end = await s.stop('SIGTERM');
    assert.equal(end.code, 0);
    assert.ok(Date.now() - started < 15000, 'SIGTERM ended the server without waiting out a mercy');
  }));

test('15: SIGHUPs during a reload are coalesced: every worker ends on the latest code, and the log says so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-gen-'));
  const genFile = join(dir, 'gen');
  writeFileSync(genFile, '0');
  try {
    await withServer(['--processes', '2'], async (s) => {
      for (let gen = 1; gen <= 11; gen++) {
        writeFileSync(genFile, String(gen));
        s.proc.kill('SIGHUP');
        await sleep(50); // the pace of the SIGHUPs (not a synchronisation)
      }
      await s.waitForLog((l) => l.event === 'RELOAD_QUEUED', 10000, 'a RELOAD_QUEUED line');
      // Every worker on generation 11: both workers answer with it, and then nothing older answers.
      const seen = new Set<string>();
      await until(async () => {
        const r = await get(`${s.url}/`);
        if (r.headers['x-gen'] === '11') seen.add(String(r.headers['x-worker']));
        else seen.clear();
        return seen.size === 2;
      }, 30000, 'both workers on generation 11');
      for (let i = 0; i < 20; i++) assert.equal((await get(`${s.url}/`)).headers['x-gen'], '11');
      await s.waitForLog((l) => l.event === 'RELOAD_DONE' && s.lines.indexOf(l) > s.lines.findLastIndex((x: LogLine) => x.event === 'RELOAD_QUEUED'), 20000, 'the queued reload completing');
      assert.ok(s.lines.filter((l) => l.event === 'RELOAD_START').length < 11, 'some SIGHUPs were coalesced into one reload');
    }, { GEN_FILE_FOR_TEST: genFile });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('16: the pidfile replaces a planted symlink instead of writing through it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-pid-'));
  const victim = join(dir, 'victim');
  const pidfile = join(dir, 'app.pid');
  writeFileSync(victim, 'precious\n');
  symlinkSync(victim, pidfile);
  try {
    await withServer(['--processes', '1', '--pidfile', pidfile], async (s) => {
      assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the link target is untouched');
      assert.ok(!lstatSync(pidfile).isSymbolicLink(), 'the pidfile is a file of its own');
      assert.equal(readFileSync(pidfile, 'utf8').trim(), String(s.proc.pid)); // the supervising parent
      await s.waitForLog((l) => l.event === 'PIDFILE_SYMLINK_REPLACED');
      // and the control commands find it
      const r = cli(['reload', '--pidfile', pidfile]);
      assert.equal(r.code, 0, r.stderr);
      await s.waitForLog((l) => l.event === 'RELOAD_DONE');
      // A Spindle master that started after a pidfile was written (an hour ago) did not write it.
      const older = join(dir, 'older.pid');
      writeFileSync(older, `${s.proc.pid}\n`);
      const hourAgo = new Date(Date.now() - 3600_000);
      utimesSync(older, hourAgo, hourAgo);
      const refused = cli(['stop', '--pidfile', older]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /after .*older\.pid was written .*: it is not the server that wrote it/);
      assert.equal((await get(`${s.url}/`)).status, 200, 'still serving');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('16: spindle stop refuses a stale pidfile whose pid now belongs to another process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-pid-'));
  const pidfile = join(dir, 'app.pid');
  const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    // Written an hour ago by a server since gone; the pid was reused by a process started now.
    writeFileSync(pidfile, `${bystander.pid}\n`);
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(pidfile, hourAgo, hourAgo);
    const r = cli(['stop', '--pidfile', pidfile]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`process ${bystander.pid} \\(sleep 60\\) is not a Spindle master: .* stale`));
    // Freshly written (the pidfile is newer than the process): still not a Spindle master.
    writeFileSync(pidfile, `${bystander.pid}\n`);
    const fresh = cli(['reload', '--pidfile', pidfile]);
    assert.notEqual(fresh.code, 0);
    assert.match(fresh.stderr, /is not a Spindle master/);
    await sleep(100);
    assert.equal(bystander.exitCode, null);
    assert.equal(bystander.signalCode, null, 'the unrelated process was not signalled');
    process.kill(bystander.pid!, 0); // still there

    // No process at all behind the pid: said plainly.
    const gone = spawnSync('true');
    writeFileSync(pidfile, `${gone.pid}\n`);
    const r2 = cli(['stop', '--pidfile', pidfile]);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, new RegExp(`no process ${gone.pid} is running: .* stale`));

    // No pidfile (the server removed it as it stopped): said as that, not as a bare ENOENT.
    rmSync(pidfile);
    const r3 = cli(['stop', '--pidfile', pidfile]);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /does not exist: the server is not running/);
  } finally {
    bystander.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('17: HARAKIRI names the request the worker is stuck in and lists every request lost (concurrency 4)', () =>
  withServer(['--processes', '1', '--concurrency', '4', '--harakiri', '2'], async (s) => {
    const waiting = attempt(`${s.url}/sleep?ms=10000&token=secret`);
    await s.waitForLog((l) => l.msg === 'app: sleeping');
    // (no wait for the app's "spinning" line: a worker's console output is posted to the main
    // thread, and one that spins at once may never get it out)
    const spinning = attempt(`${s.url}/spin?token=secret`);
    const line = await s.waitForLog((l) => l.event === 'HARAKIRI' && l.requests !== undefined, 15000, 'the HARAKIRI line');
    const request = line.request as { method: string; path: string; ageMs: number; stuckIn: boolean };
    assert.equal(request.path, '/spin', 'names the request the thread is stuck in, not the one awaiting');
    assert.equal(request.method, 'GET');
    assert.equal(request.stuckIn, true);
    const lost = line.requests as { method: string; path: string; ageMs: number; pastDeadline: boolean }[];
    assert.equal(line.lost, 2);
    assert.deepEqual(lost.map((r) => r.path).sort(), ['/sleep', '/spin'], 'every request lost, paths without their query');
    for (const r of lost) assert.ok(r.method === 'GET' && r.ageMs >= 2000 && r.pastDeadline, JSON.stringify(r));
    assert.ok(!JSON.stringify(line).includes('secret'), 'no query string in the log');
    assert.ok((await waiting) instanceof Error && (await spinning) instanceof Error, 'both connections were lost with the thread');
    await s.waitForLog((l) => l.event === 'WORKER_EXITED' && l.reason === 'harakiri');
    assert.equal((await get(`${s.url}/`)).status, 200);
  }));

test('18: Buffers held by a worker count in reload-on-rss and the stats', () =>
  withServer(['--processes', '1', '--reload-on-rss', '150', '--min-worker-lifetime', '0', '--stats', '127.0.0.1:0'], async (s) => {
    for (let i = 0; i < 4; i++) assert.equal((await get(`${s.url}/hold?mb=32`)).status, 200);
    // 128 MB of Buffers: the stats show them (heap_used stays small), under the limit.
    const w = await until(async () => {
      const worker = (await statsOf(s)).workers[0];
      return worker.external >= 128 * 1048576 ? worker : null;
    }, 10000, 'the Buffers in the stats');
    assert.ok(w.heap_used < 64 * 1048576, `heap_used ${w.heap_used}`);
    assert.ok(w.rss >= w.heap_used + w.external, 'rss (what reload-on-rss watches) counts the Buffers');
    assert.ok(!s.lines.some((l) => l.event === 'WORKER_RECYCLE'));
    // 32 MB more: past 150 MB, the worker is recycled.
    assert.equal((await get(`${s.url}/hold?mb=32`)).status, 200);
    const recycle = await s.waitForLog((l) => l.event === 'WORKER_RECYCLE' && l.reason === 'reload-on-rss', 10000, 'the reload-on-rss recycle');
    assert.ok((recycle.externalMb as number) >= 160, JSON.stringify(recycle));
    await s.waitForLog((l) => l.event === 'WORKER_EXITED' && l.reason === 'reload-on-rss');
    const doc = await until(async () => {
      const d = await statsOf(s);
      return d.workers[0].external > 0 && d.workers[0].external < 32 * 1048576 ? d : null;
    }, 10000, 'the new worker without the Buffers');
    assert.equal(doc.worker_exits['recycle-heap'], 1);
  }));

test('18: reload-on-process-rss defaults to 80% of the memory the process may use; 0 turns it off', () => {
  const limit = process.constrainedMemory?.() ?? 0;
  const available = limit > 0 ? Math.min(limit, totalmem()) : totalmem();
  const dflt = settingsFromConfig(loadConfig({ env: {} })).processRecycle;
  assert.ok(dflt.rssDefault);
  assert.ok(Math.abs(dflt.rssBytes - available * 0.8) <= 1048576, `${dflt.rssBytes} vs ${available}`);
  const off = settingsFromConfig(loadConfig({ env: {}, overrides: { reloadOnProcessRss: 0 } })).processRecycle;
  assert.equal(off.rssBytes, 0);
  assert.equal(off.rssDefault, false);
});
