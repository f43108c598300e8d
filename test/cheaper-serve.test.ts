// Cheaper through the real server (the workers accept and publish their own busy time): busyness ramps workers up under load and back down to `cheaper` when idle with no
// failed request; manual scaling via start().scale() and the master FIFO; cheap slots survive
// reloads and crashes of active workers are still replaced; stats show each worker's requests in
// flight as the scoreboard does. The backlog algorithm reads the kernel's
// accept queue of the listening socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from 'spindle/server';
import { startSpindle, get, fixture, until, type LogLine, type Reply } from './helpers/spindle.js';

const APP = fixture('serve/app.mjs');
const BLOCKING = fixture('cheaper/blocking-app.mjs');
test('busyness: workers rise under load and fall back to cheaper when idle, no request fails', async () => {
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '4', '--cheaper', '1',
    '--cheaper-overload', '1', '--cheaper-busyness-multiplier', '2', '--min-worker-lifetime', '0']);
  const statuses: number[] = [];
  try {
    const starts = () => s.lines.filter((l) => l.event === 'CHEAPER_SPAWN');
    const active = () => 1 + starts().reduce((n, l) => n + (l.slots as number[]).length, 0) - cheapedExits(s.lines);
    // load: 4 clients in closed loops of 250 ms requests keep every worker busy
    let loading = true;
    const client = async () => {
      while (loading) statuses.push((await get(`${s.url}/slow?ms=250`)).status);
    };
    const clients = [client(), client(), client(), client()];
    await until(() => active() === 4, 20000, 'four workers under load');
    loading = false;
    await Promise.all(clients);
    // idle: back to cheaper = 1
    await until(() => cheapedExits(s.lines) === 3, 25000, 'three workers cheaped');
    assert.equal(active(), 1);

    assert.ok(statuses.length > 0 && statuses.every((c) => c === 200), `every request answered 200 (${statuses.length}, failed: ${statuses.filter((c) => c !== 200).length})`);
    const up = starts();
    assert.ok(up.every((l) => /above cheaper-busyness-max 50%/.test(String(l.reason)) || /emergency/.test(String(l.reason))), JSON.stringify(up));
    assert.deepEqual(up.flatMap((l) => l.slots as number[]).sort(), [2, 3, 4], 'spawned into the free slots, each once');
    const down = s.lines.filter((l) => l.event === 'CHEAPER_STOP');
    assert.equal(down.length, 3);
    assert.ok(down.every((l) => /below cheaper-busyness-min 25%/.test(String(l.reason))), JSON.stringify(down));
    assert.ok(!s.lines.some((l) => l.event === 'WORKER_RESPAWNED'), 'a cheaped worker is not respawned');
    assert.equal((await get(`${s.url}/`)).status, 200);
  } finally {
    await s.stop();
  }
});

function cheapedExits(lines: LogLine[]): number {
  return lines.filter((l) => l.event === 'WORKER_EXITED' && l.reason === 'cheaper').length;
}

test('start().scale(): manual +N/-N within cheaper..processes, owed stops wait for busy workers, stats show cheap slots and busy workers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-scale-'));
  const statsPath = join(dir, 'stats.sock');
  const server = await start({ app: APP, httpSocket: ['127.0.0.1:0'], processes: 3, cheaper: 1, cheaperAlgo: 'manual', stats: statsPath, logLevel: 'error' });
  try {
    const url = server.addresses[0]!;
    const cheap = () => server.stats().workers.map((w) => w.cheap);
    assert.deepEqual(cheap(), [false, true, true]);
    assert.equal(server.stats().cheaper?.algo, 'manual');

    const up = server.scale(+5);
    assert.deepEqual(up.started, [2, 3]);
    assert.deepEqual(cheap(), [false, false, false]);
    await until(() => server.stats().workers.every((w) => w.state === 'ready'), 15000, 'three ready workers');

    // stop one; a reload then replaces the active workers and leaves the cheap slot alone
    const down = server.scale(-1);
    assert.deepEqual(down.stopped, [1], 'the oldest idle worker');
    await until(() => server.stats().workers[0]!.state === 'empty', 10000, 'slot 1 empty');
    await until(async () => (await statsDocument(statsPath)).workers[0]!.status === 'cheap', 10000, 'worker 1 exited (stats: cheap)');
    assert.deepEqual(cheap(), [true, false, false]);
    assert.equal(await server.reload(), true);
    assert.deepEqual(cheap(), [true, false, false], 'reload does not start cheap slots');
    assert.equal(server.stats().workers[0]!.state, 'empty');

    // both remaining workers busy: the stop is owed, the requests finish, then the stop happens.
    // The kernel, not the master, gives each connection to a worker, so requests are sent one at
    // a time until both workers have one.
    const busy = () => server.stats().workers.filter((w) => w.inFlight > 0).map((w) => w.id);
    const inFlight = () => server.stats().workers.reduce((n, w) => n + w.inFlight, 0);
    const slow: Promise<Reply>[] = [];
    await until(async () => {
      if (busy().length === 2) return true;
      slow.push(get(`${url}/slow?ms=2500`));
      await until(() => inFlight() === slow.length, 5000, `request ${slow.length} in flight`);
      return busy().length === 2;
    }, 10000, 'both workers with a request in flight');
    // stats() and the stats document (scoreboard) agree on which workers are busy
    await until(async () => {
      const doc = (await statsDocument(statsPath)).workers;
      return server.stats().workers.every((w, i) => doc[i]!.in_flight === w.inFlight && (doc[i]!.status === 'busy') === (w.inFlight > 0));
    }, 5000, 'the scoreboard to show the requests in flight');
    assert.deepEqual((await statsDocument(statsPath)).workers.map((w) => w.status), ['cheap', 'busy', 'busy']);
    const owed = server.scale(-1);
    assert.deepEqual([owed.stopped, owed.owed], [[], 1]);
    const replies = await Promise.all(slow);
    assert.ok(replies.every((r) => r.status === 200), JSON.stringify(replies.map((r) => r.status)));
    await until(() => server.stats().workers.filter((w) => w.cheap).length === 2, 10000, 'the owed stop applied');
    assert.equal(server.stats().cheaper?.active, 1);
    await until(async () => (await statsDocument(statsPath)).workers.every((w) => w.in_flight === 0 && w.status !== 'busy'), 5000, 'the scoreboard to show no request in flight');

    // a crash of an active worker is replaced; the cheap slots stay cheap. The worker writes a 502
    // for the request as it exits (best effort: a process.exit() in the middle of the handler can
    // still reset the connection first).
    const respawnsBefore = server.stats().respawns;
    const crash = await get(`${url}/exit`).then((r) => r.status, (err: NodeJS.ErrnoException) => err.code ?? 'failed');
    assert.ok(crash === 502 || crash === 'ECONNRESET', String(crash));
    await until(() => server.stats().respawns > respawnsBefore && server.stats().workers.filter((w) => w.state === 'ready').length === 1, 15000, 'the crashed worker respawned');
    assert.equal(server.stats().workers.filter((w) => w.cheap).length, 2);
    assert.equal((await get(`${url}/`)).status, 200);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The stats document (the scoreboard's view) from the stats server on a UNIX socket. */
function statsDocument(path: string): Promise<{ workers: { status: string; in_flight: number }[] }> {
  return new Promise((resolve, reject) => {
    const c = connect({ path });
    let out = '';
    c.setEncoding('utf8');
    c.setTimeout(10000, () => c.destroy(new Error('no stats document within 10 s')));
    c.on('data', (d: string) => { out += d; });
    c.on('end', () => { try { resolve(JSON.parse(out)); } catch (err) { reject(err); } });
    c.on('error', reject);
  });
}

test('scale() without cheaper is an error naming the fix', async () => {
  const server = await start({ app: APP, httpSocket: ['127.0.0.1:0'], processes: 1, logLevel: 'error' });
  try {
    assert.throws(() => server.scale(1), /set cheaper/);
    assert.equal(server.stats().cheaper, null);
  } finally {
    await server.close();
  }
});

test('master-fifo: + starts a worker, - stops one, unknown bytes are reported, q shuts down gracefully', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-fifo-'));
  const fifo = join(dir, 'master.fifo');
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '3', '--cheaper', '1', '--cheaper-algo', 'manual', '--master-fifo', fifo]);
  try {
    writeFileSync(fifo, '+x\n');
    await s.waitForLog((l) => l.event === 'WORKER_STARTED' && l.worker === 2, 15000, 'worker 2 started');
    await s.waitForLog((l) => l.event === 'FIFO_UNKNOWN_COMMAND');
    writeFileSync(fifo, '-');
    await s.waitForLog((l) => l.event === 'WORKER_EXITED' && l.reason === 'cheaper', 15000, 'a worker cheaped');
    writeFileSync(fifo, 'q');
    const exit = await s.exited;
    assert.equal(exit.code, 0);
    assert.ok(s.lines.some((l) => l.event === 'FIFO_COMMAND' && l.command === 'q'));
    assert.ok(!existsSync(fifo), 'the FIFO is removed at exit');
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('backlog: connections waiting in the kernel accept queue start workers; an empty queue stops them', async () => {
  const s = await startSpindle([BLOCKING, '--http-socket', '127.0.0.1:0', '--processes', '3', '--cheaper', '1',
    '--cheaper-algo', 'backlog', '--cheaper-overload', '2', '--cheaper-step', '2', '--min-worker-lifetime', '0']);
  const sockets: Socket[] = [];
  try {
    assert.ok(s.lines.some((l) => l.event === 'CHEAPER_ON' && l.algo === 'backlog'));
    // The only worker holds its event loop: it accepts nothing while it does.
    const blocked = get(`${s.url}/block?ms=6000`);
    await s.waitForLog((l) => l.msg === 'app: blocking' && l.worker === 1, 10000, 'worker 1 blocking');
    // Five connections complete the handshake in the kernel and wait in the accept queue.
    const replies = Array.from({ length: 5 }, () => new Promise<string>((resolve, reject) => {
      const c = connect({ host: '127.0.0.1', port: Number(new URL(s.url).port) });
      sockets.push(c);
      let out = '';
      c.setEncoding('utf8');
      c.on('data', (d: string) => { out += d; });
      c.on('end', () => resolve(out));
      c.on('error', reject);
      c.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    }));
    // At the next check the queue is above cheaper-overload: cheaper-step workers start, and they
    // accept what is waiting while worker 1 is still blocked.
    const up = await s.waitForLog((l) => l.event === 'CHEAPER_SPAWN', 10000, 'workers started from the backlog');
    assert.deepEqual(up.slots, [2, 3]);
    assert.match(String(up.reason), /^backlog [345] above cheaper-overload 2$/);
    assert.ok((up.backlog as number) >= 3 && (up.backlog as number) <= 5, `backlog ${String(up.backlog)}`);
    const answers = await Promise.all(replies);
    for (const a of answers) assert.match(a, /^HTTP\/1\.1 200 [^]*\r\n\r\nworker [23]\n$/);
    assert.equal((await blocked).status, 200);
    // The queue is empty (below cheaper-overload): one worker stopped per check, down to cheaper.
    await until(() => s.lines.filter((l) => l.event === 'WORKER_EXITED' && l.reason === 'cheaper').length === 2, 15000, 'two workers cheaped');
    const down = s.lines.filter((l) => l.event === 'CHEAPER_STOP');
    assert.equal(down.length, 2);
    assert.ok(down.every((l) => l.reason === 'backlog 0 below cheaper-overload 2'), JSON.stringify(down));
    assert.equal((await get(`${s.url}/`)).status, 200);
  } finally {
    for (const c of sockets) c.destroy();
    await s.stop();
  }
});
