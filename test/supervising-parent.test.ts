// The supervising parent (option `supervise`, on by default) through the real CLI: the server
// process dies abnormally under load (SIGSEGV, SIGKILL as the OOM killer sends it), and a new
// one serves on the same sockets with no connection refused; a crash loop backs off; signals,
// the pidfile, `spindle reload` and full reloads go through the parent; supervise = false is the
// single process of before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync, unlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSpindle, get, fixture, until, alive, prober, BIN, type Running, type LogLine } from './helpers/spindle.js';

const APP = fixture('serve/app.mjs');
const ABORT_APP = fixture('serve/abort-when-marked.mjs');

const byEvent = (s: Running, event: string): LogLine[] => s.lines.filter((l) => l.event === event);
const readPid = (file: string): number => { try { return Number(readFileSync(file, 'utf8').trim()); } catch { return 0; } };
/** Listening and IPC sockets the process has open (to see that none leak across restarts). */
const socketFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).filter((fd) => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:'); } catch { return false; } }).length;

/** The parent holds the sockets once the server serves: only then is a death a crash to recover from. */
const supervised = (s: Running) => until(() => byEvent(s, 'SOCKETS_HELD').find((l) => l.serverPid === s.serverPid), 10000, 'the parent holds the sockets');

/** Every server process the run has had, then the parent: nothing may outlive a test. */
async function cleanup(s: Running): Promise<void> {
  await s.stop('SIGKILL');
  const pids = new Set<number>();
  for (const l of s.lines) {
    if (typeof l.pid === 'number') pids.add(l.pid);
    if (typeof l.serverPid === 'number') pids.add(l.serverPid);
  }
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}

interface LoadResult { ok: number; refused: number; reset: number; other: string[]; answered: { start: number; end: number }[] }

/** `conns` loops of GET on new connections until stopped; every outcome is counted. */
function load(url: string, conns: number): { result: LoadResult; stop: () => Promise<LoadResult> } {
  let running = true;
  const r: LoadResult = { ok: 0, refused: 0, reset: 0, other: [], answered: [] };
  const loops = Array.from({ length: conns }, async () => {
    while (running) {
      const start = Date.now();
      try {
        const reply = await get(`${url}/`, { timeoutMs: 15000 });
        if (reply.status === 200) { r.ok++; r.answered.push({ start, end: Date.now() }); } else r.other.push(`status ${reply.status}`);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        if (code === 'ECONNREFUSED') r.refused++;
        else if (code === 'ECONNRESET' || code === 'EPIPE') r.reset++;
        else r.other.push(code);
      }
    }
  });
  return { result: r, stop: async () => { running = false; await Promise.all(loops); return r; } };
}

for (const signal of ['SIGSEGV', 'SIGKILL'] as const) {
  test(`${signal} to the server process under load: a new one serves on the same socket, nothing refused`, { timeout: 90000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'spindle-parent-'));
    const pidfile = join(dir, 'app.pid');
    const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '2', '--pidfile', pidfile]);
    try {
      assert.equal(readPid(pidfile), s.proc.pid, 'the pidfile names the parent');
      assert.notEqual(s.serverPid, s.proc.pid, 'the server is a process of its own');
      await supervised(s);
      const port = Number(new URL(s.url).port);
      const traffic = load(s.url, 8);
      const probe = prober({ port });
      await until(() => traffic.result.ok >= 100, 20000, '100 answers before the crash');
      const fdsBefore = socketFds(s.proc.pid!);

      const killedAt = Date.now();
      process.kill(s.serverPid, signal);
      const restarted = await until(() => byEvent(s, 'SERVER_RESTARTED')[0], 30000, 'SERVER_RESTARTED');
      const afterKill = () => traffic.result.answered.filter((a) => a.start > killedAt);
      await until(() => afterKill().length >= 100, 20000, '100 answers to requests made after the crash');
      const loadResult = await traffic.stop();
      const probeResult = await probe.stop();

      const crashed = byEvent(s, 'SERVER_CRASHED')[0]!;
      assert.equal(crashed.signal, signal);
      assert.equal(crashed.serverPid, s.serverPid);
      const newPid = restarted.serverPid as number;
      assert.ok(alive(newPid) && !alive(s.serverPid), 'the old server is gone, the new one runs');
      assert.equal(readPid(pidfile), s.proc.pid, 'the pidfile still names the parent');
      const servingAgainMs = Math.min(...afterKill().map((a) => a.end)) - killedAt;
      t.diagnostic(`${signal}: serving again ${servingAgainMs} ms after the kill (parent's downMs ${restarted.downMs as number}); load: ${loadResult.ok} ok, ${loadResult.reset} reset in flight, ${loadResult.refused} refused, other ${JSON.stringify(loadResult.other)}; probe connects: ${probeResult.ok} ok, ${probeResult.refused.length} refused`);
      assert.equal(loadResult.refused, 0, 'no request was refused');
      assert.deepEqual(probeResult.refused, [], 'no connection was refused');
      assert.deepEqual(loadResult.other, [], 'no other failure than resets of requests in flight');
      assert.equal(socketFds(s.proc.pid!), fdsBefore, 'the parent holds as many sockets as before (none leaked)');

      const stopped = await s.stop('SIGTERM');
      assert.equal(stopped.code, 0);
      assert.ok(!existsSync(pidfile), 'the pidfile is vacuumed');
      await until(() => !alive(newPid), 10000, 'the new server exits with the parent');
    } finally {
      await cleanup(s);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a crash loop backs off with growing delays, and recovers once the app loads again', { timeout: 90000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-parent-'));
  const marker = join(dir, 'crash');
  const s = await startSpindle([ABORT_APP, '--http-socket', '127.0.0.1:0', '--processes', '1'], { env: { CRASH_MARKER: marker } });
  try {
    await supervised(s);
    writeFileSync(marker, '');
    process.kill(s.serverPid, 'SIGKILL');
    const backoffs = await until(() => { const b = byEvent(s, 'SERVER_RESTART_BACKOFF'); return b.length >= 3 && b; }, 60000, 'three back-offs');
    const delays = backoffs.slice(0, 3).map((l) => l.delayMs as number);
    assert.ok(delays[0]! > 0 && delays[1]! > delays[0]! && delays[2]! > delays[1]!, `growing delays: ${delays.join(', ')}`);
    const crashes = byEvent(s, 'SERVER_CRASHED');
    assert.equal(crashes[0]!.signal, 'SIGKILL');
    const aborted = crashes.find((l) => l.signal === 'SIGABRT');
    assert.ok(aborted, 'the restarts died of SIGABRT');
    assert.ok((aborted.lastWords as string[] | undefined)?.some((w) => w.includes('aborting the process')), `the last words are logged: ${JSON.stringify(aborted.lastWords)}`);
    assert.equal(aborted.served, false);

    unlinkSync(marker);
    const restarted = await until(() => byEvent(s, 'SERVER_RESTARTED')[0], 60000, 'SERVER_RESTARTED once the app loads');
    assert.ok((restarted.crashes as number) >= 4);
    assert.equal((await get(`${s.url}/`)).status, 200);
  } finally {
    await cleanup(s);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM to the parent stops the server and the parent, with status 0', { timeout: 60000 }, async (t) => {
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '2']);
  try {
    const started = Date.now();
    const stopped = await s.stop('SIGTERM');
    t.diagnostic(`stopped in ${Date.now() - started} ms`);
    assert.equal(stopped.code, 0);
    await until(() => !alive(s.serverPid), 5000, 'the server gone with the parent');
    assert.ok(s.lines.some((l) => l.pid === s.serverPid && l.event === 'STOPPED'), 'the server stopped gracefully');
    assert.equal(byEvent(s, 'SERVER_CRASHED').length, 0);
  } finally {
    await cleanup(s);
  }
});

test('the server stops if its parent dies (nothing would restart it or pass signals on)', { timeout: 60000 }, async () => {
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '1']);
  try {
    await supervised(s);
    process.kill(s.proc.pid!, 'SIGKILL');
    await until(() => s.lines.find((l) => l.event === 'PARENT_GONE' && l.pid === s.serverPid), 10000, 'PARENT_GONE');
    await until(() => !alive(s.serverPid), 30000, 'the orphaned server exits');
  } finally {
    await cleanup(s);
  }
});

test('pidfile + spindle reload, reload --full through the parent, then a crash of the new server', { timeout: 120000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-parent-'));
  const pidfile = join(dir, 'app.pid');
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '1', '--pidfile', pidfile]);
  try {
    await supervised(s);
    const spindle = (...args: string[]) => execFileSync(process.execPath, [BIN, ...args, '--pidfile', pidfile], { encoding: 'utf8' });
    assert.match(spindle('reload'), new RegExp(`sent SIGHUP to ${s.proc.pid}`));
    await until(() => s.lines.find((l) => l.event === 'RELOAD_DONE' && l.pid === s.serverPid), 20000, 'chain reload in the server');

    const fds = socketFds(s.proc.pid!);
    assert.match(spindle('reload', '--full'), new RegExp(`sent SIGUSR2 to ${s.proc.pid}`));
    const took = await until(() => s.lines.find((l) => l.event === 'FULL_RELOAD_TOOK_OVER' && l.oldPid === s.serverPid), 30000, 'full reload through the parent');
    const newPid = took.newPid as number;
    await until(() => !alive(s.serverPid), 30000, 'the old server drains and exits');
    assert.equal(readFileSync(`/proc/${newPid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1], String(s.proc.pid), 'the new server is a child of the parent');
    assert.equal(readPid(pidfile), s.proc.pid, 'the pidfile still names the parent');
    assert.equal((await get(`${s.url}/`)).status, 200);
    await until(() => socketFds(s.proc.pid!) === fds, 10000, `the parent holds the new server's sockets instead of the old ones (${fds} socket descriptors)`);

    // the parent holds the new server's sockets: its crash is recovered from too
    process.kill(newPid, 'SIGKILL');
    const restarted = await until(() => byEvent(s, 'SERVER_RESTARTED')[0], 30000, 'SERVER_RESTARTED');
    assert.equal((await get(`${s.url}/`)).status, 200);
    assert.equal(byEvent(s, 'SERVER_CRASHED')[0]!.serverPid, newPid);
    assert.ok(alive(restarted.serverPid as number));
  } finally {
    await cleanup(s);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--no-supervise (supervise = false): the server is the only process, as before (a SIGKILL ends the service)', { timeout: 60000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-parent-'));
  const pidfile = join(dir, 'app.pid');
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '1', '--pidfile', pidfile, '--no-supervise']);
  try {
    assert.equal(s.serverPid, s.proc.pid);
    assert.equal(readPid(pidfile), s.proc.pid);
    const port = Number(new URL(s.url).port);
    process.kill(s.serverPid, 'SIGKILL');
    await s.exited;
    // nothing holds the socket once the process (and its descriptor broker, which notices its
    // parent's death a moment later) is gone: connections are refused (under the parent: never)
    await until(async () => (await prober({ port }).stop()).refused.includes('ECONNREFUSED'), 10000, 'a refused connection');
  } finally {
    await cleanup(s);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The child processes of `pid`, with their state (Z: a zombie nobody reaped). */
const childrenOf = (pid: number): { pid: number; state: string }[] =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number).map((c) => {
    const st = readFileSync(`/proc/${c}/stat`, 'utf8');
    return { pid: c, state: st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) };
  });

test('as PID 1 (a container): full reload and a crash leave no zombie, SIGTERM stops it', { timeout: 120000 }, async () => {
  // a new PID namespace, as a container runtime makes one (a user namespace too: no root needed)
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '1'], { wrapper: ['unshare', '--user', '--map-root-user', '--pid', '--fork', '--mount-proc'] });
  try {
    await supervised(s);
    assert.equal(s.lines.find((l) => l.event === 'SOCKETS_HELD')!.pid, 1, 'the parent is PID 1 in its namespace');
    const pid1 = await until(() => childrenOf(s.proc.pid!)[0]?.pid, 5000, 'PID 1 seen from here');
    const server = () => childrenOf(pid1).filter((c) => c.state !== 'Z');

    process.kill(pid1, 'SIGUSR2'); // a full reload: refused when the server itself is PID 1 (--no-supervise)
    await until(() => s.lines.find((l) => l.event === 'FULL_RELOAD_DRAINED'), 30000, 'full reload as PID 1');
    await until(() => server().length === 1, 10000, 'one server left');
    process.kill(server()[0]!.pid, 'SIGKILL');
    await until(() => byEvent(s, 'SERVER_RESTARTED')[0], 30000, 'SERVER_RESTARTED');
    assert.equal((await get(`${s.url}/`)).status, 200);
    await until(() => server().length === 1, 10000, 'one server left');
    assert.deepEqual(childrenOf(pid1).filter((c) => c.state === 'Z'), [], 'no zombie under PID 1');

    process.kill(pid1, 'SIGTERM');
    const exited = await s.exited;
    assert.equal(exited.code, 0, 'PID 1 (and so the container) exits 0');
  } finally {
    await s.stop('SIGKILL');
  }
});
