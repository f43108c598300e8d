// Full reload (process-level recycling) through the real CLI: a new Spindle process takes over the
// listening sockets (TCP and UNIX), the old one drains and exits, the pidfile follows, and nothing
// fails or is refused meanwhile. Every process a test starts is killed in its finally (the new
// processes are detached: each leads its own process group).
// The keepers of the listening sockets are handed over; the workers hold their own copies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, utimesSync, existsSync, openSync, writeSync, closeSync, fstatSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startSpindle, get, fixture, until, alive, prober, rawStats, BIN, type Running, type LogLine } from './helpers/spindle.js';
import { encodeUwsgiPacket } from '../src/front/uwsgi-listener.js';

const APP = fixture('serve/app.mjs');
const CACHE_APP = fixture('full-reload/cache-app.mjs');
const UWSGI_APP = fixture('uwsgi/app.mjs');

/**
 * These tests follow the server process itself (pidfile, old and new pids, process groups), so
 * they run it without the supervising parent; the full reload under the parent is in
 * supervising-parent.test.ts.
 */
const startUnsupervised: typeof startSpindle = (args, opts = {}) => startSpindle(args, { ...opts, env: { SPINDLE_SUPERVISE: 'false', ...opts.env } });

function readPid(file: string): number {
  try { return Number(readFileSync(file, 'utf8').trim()); } catch { return 0; }
}

/** Kills every process the run started: the first one, and each new one's whole process group. */
async function cleanup(s: Running, extra: number[] = []): Promise<void> {
  await s.stop('SIGKILL');
  const pids = new Set<number>(extra);
  // repeat: a process may have started another one (automatic triggers) before it was killed
  for (let round = 0; round < 5; round++) {
    const before = pids.size;
    for (const l of s.lines) if (typeof l.newPid === 'number') pids.add(l.newPid);
    // A process killed right after it started its successor never logged the successor's pid;
    // the successor names its predecessor in its environment.
    for (const pid of successorsOf(pids)) pids.add(pid);
    for (const pid of pids) {
      try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    await until(() => [...pids].every((p) => !alive(p)), 10000, 'every spindle process gone');
    if (round > 0 && pids.size === before) break;
  }
}

/** Live processes started by a full reload of one of `pids` (_SPINDLE_HANDOVER_FROM=<pid>:…). */
function successorsOf(pids: Set<number>): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let env: string;
    try {
      env = readFileSync(`/proc/${entry}/environ`, 'latin1');
    } catch {
      continue; // gone, or not ours to read
    }
    const from = /(?:^|\0)_SPINDLE_HANDOVER_FROM=(\d+):/.exec(env);
    if (from && pids.has(Number(from[1]))) found.push(Number(entry));
  }
  return found;
}

function tookOver(s: Running): LogLine[] {
  return s.lines.filter((l) => l.event === 'FULL_RELOAD_TOOK_OVER');
}

/** A server on an app file of its own (answering "v1"), which a test rewrites before a reload. */
async function startOnEditableApp(): Promise<{ dir: string; pidfile: string; app: string; s: Running }> {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-fr-'));
  const pidfile = join(dir, 'spindle.pid');
  const app = join(dir, 'app.mjs');
  writeFileSync(app, "export default { fetch: () => new Response('v1\\n') };\n");
  const s = await startUnsupervised([app, '--http-socket', '127.0.0.1:0', '--processes', '1', '--pidfile', pidfile]);
  return { dir, pidfile, app, s };
}

/** Triggers a full reload and waits until the new process serves, the pidfile names it and the old one is gone. */
async function fullReload(s: Running, pidfile: string, trigger: (oldPid: number) => void): Promise<number> {
  const oldPid = readPid(pidfile);
  const n = tookOver(s).length;
  trigger(oldPid);
  const line = await until(() => tookOver(s)[n], 60000, `full reload #${n + 1} (${oldPid} -> ?)`);
  assert.equal(line.oldPid, oldPid);
  const newPid = line.newPid as number;
  assert.notEqual(newPid, oldPid);
  await until(() => readPid(pidfile) === newPid, 10000, `the pidfile names ${newPid}`);
  await until(() => !alive(oldPid), 30000, `the old process ${oldPid} exits`);
  // The old process's last line may still sit in the pipe when it is already gone: wait for it.
  await until(() => s.lines.some((l) => l.pid === oldPid && l.event === 'FULL_RELOAD_DRAINED'), 10000, `${oldPid} drained and exited`);
  return newPid;
}

test('5 full reloads in a row under load: zero failed requests, never refused, pidfile follows, old processes exit', { timeout: 240000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-fr-'));
  const pidfile = join(dir, 'spindle.pid');
  const sock = join(dir, 'http.sock');
  const s = await startUnsupervised([APP, '--http-socket', '127.0.0.1:0', '--http-socket', sock, '--processes', '2', '--pidfile', pidfile, '--worker-reload-mercy', '10']);
  const firstPid = s.proc.pid!;
  try {
    assert.equal(readPid(pidfile), firstPid);
    const port = Number(new URL(s.url).port);
    const tcpProbe = prober({ port });
    const unixProbe = prober({ path: sock });
    const load = autocannon({ url: `${s.url}/`, connections: 8, duration: 600 }) as Promise<autocannon.Result> & { stop(): void };
    const pids = [firstPid];
    let tcp: Awaited<ReturnType<typeof tcpProbe.stop>>;
    let unix: Awaited<ReturnType<typeof unixProbe.stop>>;
    try {
      for (let i = 0; i < 5; i++) pids.push(await fullReload(s, pidfile, (pid) => process.kill(pid, 'SIGUSR2')));
    } finally {
      // Stopped on failure too: a probe left running would keep this test process alive forever.
      load.stop();
      tcp = await tcpProbe.stop();
      unix = await unixProbe.stop();
    }
    const result = await load;
    assert.equal((await s.exited).code, 0, 'the first process exited 0');
    assert.equal(new Set(pids).size, 6);
    for (const pid of pids.slice(0, 5)) assert.ok(!alive(pid), `old process ${pid} is gone`);
    assert.ok(alive(pids[5]!), 'the newest process serves');
    assert.match((await get(`${s.url}/`)).body.toString(), /hello from worker/);
    assert.equal((await get('http://localhost/', { socketPath: sock })).status, 200, 'the UNIX socket still serves');
    assert.ok(result.requests.total > 0);
    assert.equal(result.errors, 0, 'connection errors during full reloads');
    assert.equal(result.timeouts, 0, 'timeouts during full reloads');
    assert.equal(result.non2xx, 0, 'non-2xx answers during full reloads');
    assert.deepEqual(tcp.refused, [], 'TCP connections refused');
    assert.deepEqual(unix.refused, [], 'UNIX connections refused');
    for (const l of s.lines.filter((x) => x.event === 'FULL_RELOAD_TOOK_OVER')) assert.equal(l.reason, 'SIGUSR2');
    console.log(`# full reload load: ${result.requests.total} requests over 5 full reloads (pids ${pids.join(' -> ')}), ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx; probes: ${tcp.ok} TCP and ${unix.ok} UNIX connects, 0 refused`);
    // the newest process shuts down normally: vacuum removes the socket and the pidfile it owns
    process.kill(pids[5]!, 'SIGTERM');
    await until(() => !alive(pids[5]!), 20000, 'the newest process stops');
    assert.ok(!existsSync(sock), 'socket vacuumed by its last owner');
    assert.ok(!existsSync(pidfile), 'pidfile vacuumed by its last owner');
  } finally {
    await cleanup(s);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a full reload whose new process cannot load the app keeps the old process serving; spindle reload --full', { timeout: 120000 }, async () => {
  const { dir, pidfile, app, s } = await startOnEditableApp();
  try {
    writeFileSync(app, 'export default { fetch: ( => nope };\n');
    const out = execFileSync(process.execPath, [BIN, 'reload', '--full', '--pidfile', pidfile], { encoding: 'utf8' });
    assert.match(out, new RegExp(`sent SIGUSR2 to ${s.proc.pid}`));
    const failed = await until(() => s.lines.find((l) => l.event === 'FULL_RELOAD_FAILED'), 60000, 'full reload failed');
    assert.equal(failed.oldPid, s.proc.pid);
    assert.match(String(failed.why), /exited \(code 22: the app could not be loaded\)|the app could not be loaded/);
    await until(() => !alive(failed.newPid as number), 10000, 'the failed new process is gone');
    assert.equal(readPid(pidfile), s.proc.pid, 'the pidfile still names the old process');
    const r = await get(`${s.url}/`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'v1\n');
    // fixed: the next full reload goes through and serves the new code
    writeFileSync(app, "export default { fetch: () => new Response('v2\\n') };\n");
    await fullReload(s, pidfile, () => execFileSync(process.execPath, [BIN, 'reload', '--full', '--pidfile', pidfile]));
    assert.equal((await get(`${s.url}/`)).body.toString(), 'v2\n');
  } finally {
    await cleanup(s);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a full reload that fails after the stats address was released: the old process serves its stats again', { timeout: 120000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-fr-'));
  const pidfile = join(dir, 'spindle.pid');
  const ini = join(dir, 'spindle.ini');
  const freePort = () => new Promise<number>((resolve) => { const srv = createServer().listen(0, '127.0.0.1', () => { const { port } = srv.address() as AddressInfo; srv.close(() => resolve(port)); }); });
  const statsPort = await freePort();
  // The new process will read a stats address that is taken: it fails after the old one released its own.
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const takenPort = (blocker.address() as AddressInfo).port;
  writeFileSync(ini, `[spindle]\nstats = 127.0.0.1:${statsPort}\n`);
  const s = await startUnsupervised([APP, '--ini', ini, '--http-socket', '127.0.0.1:0', '--processes', '1', '--pidfile', pidfile]);
  try {
    const statsPid = async () => (JSON.parse(await rawStats(`tcp://127.0.0.1:${statsPort}`)) as { pid: number }).pid;
    assert.equal(await statsPid(), s.proc.pid);
    writeFileSync(ini, `[spindle]\nstats = 127.0.0.1:${takenPort}\n`);
    s.proc.kill('SIGUSR2');
    const failed = await until(() => s.lines.find((l) => l.event === 'FULL_RELOAD_FAILED'), 60000, 'full reload failed');
    assert.equal(failed.note, undefined, `the stats server came back: ${String(failed.note)}`);
    assert.equal(await statsPid(), s.proc.pid, 'the old process answers on its stats address again');
    assert.equal((await get(`${s.url}/`)).status, 200);
  } finally {
    await cleanup(s);
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM to the old process while its new process is still loading: the reload is abandoned, the new process is stopped, the old one exits 0', { timeout: 120000 }, async () => {
  const { dir, app, s } = await startOnEditableApp();
  let newPid = 0;
  try {
    // the new process's workers will take 30 s to load the app
    writeFileSync(app, "await new Promise((r) => setTimeout(r, 30000));\nexport default { fetch: () => new Response('v2\\n') };\n");
    s.proc.kill('SIGUSR2');
    const spawned = await until(() => s.lines.find((l) => l.event === 'FULL_RELOAD_SPAWNED'), 30000, 'the new process started');
    newPid = spawned.newPid as number;
    assert.equal((await get(`${s.url}/`)).body.toString(), 'v1\n', 'the old process serves while the new one loads');
    s.proc.kill('SIGTERM');
    const cancelled = await until(() => s.lines.find((l) => l.event === 'FULL_RELOAD_CANCELLED'), 20000, 'the reload abandoned');
    assert.equal(cancelled.level, 'warn', 'a stop the operator asked for is not a failure');
    assert.ok(!s.lines.some((l) => l.event === 'FULL_RELOAD_FAILED'), 'nor logged as one');
    const { code } = await s.exited;
    assert.equal(code, 0, 'the old process exits 0');
    await until(() => !alive(newPid), 20000, 'the new process is stopped');
  } finally {
    await cleanup(s, newPid ? [newPid] : []);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('touch-reload replaces the process; touch-chain-reload replaces the workers', { timeout: 120000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-fr-'));
  const pidfile = join(dir, 'spindle.pid');
  const full = join(dir, 'reload.touch');
  const chain = join(dir, 'chain.touch');
  writeFileSync(full, '');
  writeFileSync(chain, '');
  const s = await startUnsupervised([APP, '--http-socket', '127.0.0.1:0', '--processes', '2', '--pidfile', pidfile, '--touch-reload', full, '--touch-chain-reload', chain]);
  try {
    const later = (n: number) => new Date(Date.now() + n * 1000);
    utimesSync(chain, later(5), later(5));
    await until(() => s.lines.find((l) => l.event === 'RELOAD_DONE'), 60000, 'chain reload after a touch');
    assert.equal(readPid(pidfile), s.proc.pid, 'a chain reload keeps the process');
    const slow = get(`${s.url}/slow?ms=1500`); // in flight on the old process during the handover
    const newPid = await fullReload(s, pidfile, () => utimesSync(full, later(10), later(10)));
    const drained = await slow;
    assert.equal(drained.status, 200, 'a request in flight on the old process finishes');
    assert.equal(tookOver(s)[0]!.reason, 'touch-reload');
    assert.ok(s.lines.some((l) => l.event === 'FULL_RELOAD_AUTO' && l.reason === 'touch-reload' && (l.files as string[])[0] === full));
    // the new process read the touched time at start: no second reload
    assert.equal(readPid(pidfile), newPid);
    assert.match((await get(`${s.url}/`)).body.toString(), /hello from worker/);
  } finally {
    await cleanup(s);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cache2 store: a symlink planted at the temporary file a save writes is not followed (its target is untouched) and the store is still saved', { timeout: 60000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-fr-'));
  const store = join(dir, 'c.store');
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'precious\n');
  const s = await startUnsupervised([CACHE_APP, '--http-socket', '127.0.0.1:0', '--processes', '1',
    '--cache2', `name=c,items=64,blocksize=256,keysize=32,store=${store},store_sync=1`, '--log-level', 'debug']); // (periodic saves log at debug)
  try {
    assert.equal((await get(`${s.url}/set?k=a&v=1`)).status, 200);
    // What someone able to write into the store's directory could plant, knowing the server's pid:
    // the temporary names of the periodic save and of the save at exit.
    symlinkSync(victim, `${store}.${s.serverPid}.sync.tmp`);
    symlinkSync(victim, `${store}.${s.serverPid}.tmp`);
    await until(() => s.lines.some((l) => l.event === 'CACHE_SAVED' && l.reason === undefined), 10000, 'a periodic save');
    await s.stop('SIGTERM');
    assert.ok(s.lines.some((l) => l.event === 'CACHE_SAVED' && l.reason !== undefined), 'the save at exit');
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the link target was not written');
    assert.match(readFileSync(store, 'latin1'), /"bytes"/, 'the store itself was written');
    assert.deepEqual(s.lines.filter((l) => l.event === 'CACHE_SAVE_FAILED'), []);
  } finally {
    await cleanup(s);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cache2 store: keys survive a full reload and a restart; geometry change and corruption are refused; store_delete discards', { timeout: 180000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-fr-'));
  const pidfile = join(dir, 'spindle.pid');
  const store = join(dir, 'c.store');
  const cache2 = (extra = '') => `name=c,items=64,blocksize=256,keysize=32,store=${store}${extra}`;
  const args = (extra = '') => [CACHE_APP, '--http-socket', '127.0.0.1:0', '--processes', '2', '--pidfile', pidfile, '--cache2', cache2(extra)];
  const s = await startUnsupervised(args());
  const others: number[] = [];
  try {
    for (let i = 0; i < 20; i++) assert.equal((await get(`${s.url}/set?k=k${i}&v=value-${i}`)).status, 200);
    const newPid = await fullReload(s, pidfile, (pid) => process.kill(pid, 'SIGUSR2'));
    for (let i = 0; i < 20; i++) {
      const r = await get(`${s.url}/get?k=k${i}`);
      assert.equal(r.body.toString(), `value-${i}`, `k${i} after the full reload`);
    }
    assert.ok(s.lines.some((l) => l.event === 'CACHE_RESTORED' && l.pid === newPid && l.entries === 20));
    // a write after the reload, then a normal stop: saved at shutdown, restored at the next start
    assert.equal((await get(`${s.url}/set?k=late&v=after`)).status, 200);
    process.kill(newPid, 'SIGTERM');
    await until(() => !alive(newPid), 20000, 'the new process stops');
    assert.ok(existsSync(store));

    const again = await startUnsupervised(args());
    others.push(again.proc.pid!);
    try {
      assert.equal((await get(`${again.url}/get?k=late`)).body.toString(), 'after');
      assert.equal((await get(`${again.url}/get?k=k7`)).body.toString(), 'value-7');
    } finally {
      await again.stop('SIGTERM');
    }

    // another geometry: refused, naming the file and what differs
    const bigger = await startUnsupervised([CACHE_APP, '--http-socket', '127.0.0.1:0', '--processes', '1', '--cache2', `name=c,items=65,blocksize=256,keysize=32,store=${store}`], { expectExit: true });
    others.push(bigger.proc.pid!);
    assert.equal((await bigger.exited).code, 1);
    const why = JSON.stringify(bigger.lines);
    assert.match(why, /saved with another geometry/);
    assert.match(why, /items 64 in the file, 65 now/);
    assert.ok(why.includes(store));

    // a corrupt file: refused; with store_delete it is discarded and the cache starts empty
    const fd = openSync(store, 'r+');
    writeSync(fd, Buffer.from([0xff, 0xfe]), 0, 2, fstatSync(fd).size - 100);
    closeSync(fd);
    const corrupt = await startUnsupervised(args(), { expectExit: true });
    others.push(corrupt.proc.pid!);
    assert.equal((await corrupt.exited).code, 1);
    assert.match(JSON.stringify(corrupt.lines), /is corrupt \(its checksum does not match\)/);
    const discard = await startUnsupervised(args(',store_delete=1'));
    others.push(discard.proc.pid!);
    try {
      assert.ok(discard.lines.some((l) => l.event === 'CACHE_STORE_DISCARDED'));
      assert.equal((await get(`${discard.url}/get?k=late`)).status, 404);
    } finally {
      await discard.stop('SIGTERM');
    }
  } finally {
    await cleanup(s, others);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('max-process-lifetime and reload-on-process-rss trigger a full reload, logged with the reason and both pids', { timeout: 120000 }, async () => {
  for (const [flag, value, reason] of [['--max-process-lifetime', '2', 'max-process-lifetime'], ['--reload-on-process-rss', '1', 'reload-on-process-rss']] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'spindle-fr-'));
    const pidfile = join(dir, 'spindle.pid');
    const s = await startUnsupervised([APP, '--http-socket', '127.0.0.1:0', '--processes', '1', '--pidfile', pidfile, flag, value]);
    try {
      const newPid = await fullReload(s, pidfile, () => {});
      const started = s.lines.find((l) => l.event === 'FULL_RELOAD_SPAWNED')!;
      assert.deepEqual([started.reason, started.oldPid, started.newPid], [reason, s.proc.pid, newPid]);
      assert.equal(tookOver(s)[0]!.reason, reason);
      assert.ok(s.lines.some((l) => l.event === 'FULL_RELOAD_AUTO' && l.reason === reason && l.pid === s.proc.pid));
    } finally {
      await cleanup(s);
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

/** One uwsgi request (one connection, closed by the server after the answer): the raw reply. */
function uwsgiGet(target: { port: number } | { path: string }, uri: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = 'port' in target ? connect({ host: '127.0.0.1', port: target.port }) : connect({ path: target.path });
    let out = '';
    sock.setTimeout(30000, () => sock.destroy(new Error(`uwsgi request ${uri} timed out`)));
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => { out += d; });
    sock.once('close', () => resolve(out));
    sock.once('error', reject);
    sock.write(encodeUwsgiPacket([['REQUEST_METHOD', 'GET'], ['REQUEST_URI', uri], ['PATH_INFO', uri.split('?')[0]!], ['SERVER_PROTOCOL', 'HTTP/1.1'], ['HTTP_HOST', 'h']]));
  });
}

/** uwsgi requests one after another on each target until stopped; every reply must be a 200. */
function uwsgiLoad(targets: ({ port: number } | { path: string })[]): { stop: () => Promise<{ ok: number; failed: string[] }> } {
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  const loops = targets.map(async (target) => {
    while (running) {
      try {
        const reply = await uwsgiGet(target, '/status?code=200');
        if (/^HTTP\/1\.1 200 /.test(reply)) ok++;
        else failed.push(`${JSON.stringify(target)}: ${reply.slice(0, 60) || '(no reply)'}`);
      } catch (e) {
        failed.push(`${JSON.stringify(target)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
  });
  return { stop: async () => { running = false; await Promise.all(loops); return { ok, failed }; } };
}

/** How many descriptors `pid` holds of the TCP socket listening on `port`: one keeper plus one per worker. */
function listeningDescriptors(pid: number, port: number): number {
  let inode = '';
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1]!.split(':').pop()!, 16) === port) inode = f[9]!;
    }
  }
  if (!inode) return -1;
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

test('uwsgi-sockets (TCP and UNIX) and a UNIX http-socket are handed over, three times; sockets the new configuration drops are closed', { timeout: 180000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-fr-'));
  const pidfile = join(dir, 'spindle.pid');
  const httpSock = join(dir, 'http.sock');
  const uwsgiSock = join(dir, 'uwsgi.sock');
  const ini = join(dir, 'spindle.ini');
  const writeIni = (uwsgiSockets = true) => writeFileSync(ini, [
    '[uwsgi]', 'http-socket = 127.0.0.1:0', `http-socket = ${httpSock}`,
    ...(uwsgiSockets ? ['uwsgi-socket = 127.0.0.1:0', `uwsgi-socket = ${uwsgiSock}`] : []),
    'processes = 2', `pidfile = ${pidfile}`, 'worker-reload-mercy = 10', '',
  ].join('\n'));
  writeIni();
  const s = await startUnsupervised([UWSGI_APP, '--ini', ini]);
  try {
    const uwsgiUrl = s.addresses.find((a) => a.startsWith('uwsgi://'));
    assert.ok(uwsgiUrl, s.addresses.join(', '));
    assert.ok(s.addresses.includes(`unix:${httpSock}`) && s.addresses.includes(`uwsgi+unix:${uwsgiSock}`), s.addresses.join(', '));
    const uwsgiPort = Number(new URL(uwsgiUrl).port);
    const httpPort = Number(new URL(s.url).port);
    await until(() => listeningDescriptors(s.proc.pid!, uwsgiPort) === 3, 10000, 'a keeper and one descriptor per worker');
    const load = uwsgiLoad([{ port: uwsgiPort }, { path: uwsgiSock }]);
    const probe = prober({ path: httpSock });
    let uwsgi: Awaited<ReturnType<typeof load.stop>>;
    let unix: Awaited<ReturnType<typeof probe.stop>>;
    const pids = [s.proc.pid!];
    try {
      for (let round = 1; round <= 3; round++) {
        const pid = await fullReload(s, pidfile, (old) => process.kill(old, 'SIGUSR2'));
        pids.push(pid);
        for (const port of [httpPort, uwsgiPort]) {
          await until(() => listeningDescriptors(pid, port) === 3, 10000, `round ${round}, ${pid}: a keeper and one descriptor per worker of port ${port}`);
        }
        assert.match(await uwsgiGet({ port: uwsgiPort }, '/status?code=201'), /^HTTP\/1\.1 201 /);
        assert.match(await uwsgiGet({ path: uwsgiSock }, '/status?code=202'), /^HTTP\/1\.1 202 /);
        assert.equal((await get(`${s.url}/status?code=203`)).status, 203);
        assert.equal((await get('http://localhost/status?code=206', { socketPath: httpSock })).status, 206);
      }
    } finally {
      uwsgi = await load.stop();
      unix = await probe.stop();
    }
    assert.deepEqual(uwsgi.failed, [], 'uwsgi requests that failed during the full reloads');
    assert.ok(uwsgi.ok > 0);
    assert.deepEqual(unix.refused, [], 'UNIX http connections refused');
    console.log(`# full reload uwsgi/UNIX: ${uwsgi.ok} uwsgi requests (TCP and UNIX) and ${unix.ok} UNIX http connects over 3 full reloads (pids ${pids.join(' -> ')}), 0 failed, 0 refused`);
    // the uwsgi-sockets removed from the configuration: nobody keeps them open, the old process vacuums the path
    writeIni(false);
    pids.push(await fullReload(s, pidfile, (old) => process.kill(old, 'SIGUSR2')));
    assert.ok(s.lines.some((l) => l.pid === pids[pids.length - 1] && l.event === 'FULL_RELOAD_SOCKETS_DROPPED'));
    const refused = (target: { port: number } | { path: string }) => new Promise<string>((resolve) => {
      const c = 'port' in target ? connect({ host: '127.0.0.1', port: target.port }) : connect({ path: target.path });
      c.once('connect', () => { c.destroy(); resolve('connected'); });
      c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    assert.equal(await refused({ port: uwsgiPort }), 'ECONNREFUSED', 'the dropped uwsgi TCP socket is closed');
    assert.ok(!existsSync(uwsgiSock), 'the dropped uwsgi UNIX socket is vacuumed by the old process');
    assert.equal((await get('http://localhost/status?code=206', { socketPath: httpSock })).status, 206);
    const last = pids[pids.length - 1]!;
    process.kill(last, 'SIGTERM');
    await until(() => !alive(last), 20000, 'the newest process stops');
    assert.ok(!existsSync(httpSock) && !existsSync(uwsgiSock), 'UNIX sockets vacuumed by their last owner');
    assert.ok(!existsSync(pidfile), 'pidfile vacuumed by its last owner');
  } finally {
    await cleanup(s);
    rmSync(dir, { recursive: true, force: true });
  }
});
