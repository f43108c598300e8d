// Cheaper through the real server: busyness ramps workers up under load and back down to
// `cheaper` when idle with no failed request; manual scaling via start().scale() and the master
// FIFO; cheap slots survive reloads and crashes of active workers are still replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from 'spindle';
import { startSpindle, get, fixture, until, type LogLine } from './helpers/spindle.js';

const APP = fixture('serve/app.mjs');

test('busyness: workers rise under load and fall back to cheaper when idle, no request fails', async () => {
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '4', '--cheaper', '1',
    '--cheaper-overload', '1', '--cheaper-busyness-multiplier', '2', '--min-worker-lifetime', '0']);
  const statuses: number[] = [];
  try {
    const starts = () => s.lines.filter((l) => l.msg === 'cheaper: starting workers');
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
    const down = s.lines.filter((l) => l.msg === 'cheaper: stopping workers');
    assert.equal(down.length, 3);
    assert.ok(down.every((l) => /below cheaper-busyness-min 25%/.test(String(l.reason))), JSON.stringify(down));
    assert.ok(!s.lines.some((l) => l.msg === 'worker respawned'), 'a cheaped worker is not respawned');
    assert.equal((await get(`${s.url}/`)).status, 200);
  } finally {
    await s.stop();
  }
});

function cheapedExits(lines: LogLine[]): number {
  return lines.filter((l) => l.msg === 'worker exited' && l.reason === 'cheaper').length;
}

test('start().scale(): manual +N/-N within cheaper..processes, owed stops wait for busy workers, stats show cheap slots', async () => {
  const server = await start({ app: APP, httpSocket: ['127.0.0.1:0'], processes: 3, cheaper: 1, cheaperAlgo: 'manual', logLevel: 'error' });
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
    assert.deepEqual(cheap(), [true, false, false]);
    assert.equal(await server.reload(), true);
    assert.deepEqual(cheap(), [true, false, false], 'reload does not start cheap slots');
    assert.equal(server.stats().workers[0]!.state, 'empty');

    // both remaining workers busy: the stop is owed, the requests finish, then the stop happens
    const slow = [get(`${url}/slow?ms=800`), get(`${url}/slow?ms=800`)];
    await until(() => server.stats().workers.filter((w) => w.inFlight > 0).length === 2, 10000, 'two requests in flight');
    const owed = server.scale(-1);
    assert.deepEqual([owed.stopped, owed.owed], [[], 1]);
    const replies = await Promise.all(slow);
    assert.deepEqual(replies.map((r) => r.status), [200, 200]);
    await until(() => server.stats().workers.filter((w) => w.cheap).length === 2, 10000, 'the owed stop applied');
    assert.equal(server.stats().cheaper?.active, 1);

    // a crash of an active worker is replaced; the cheap slots stay cheap
    const crash = await get(`${url}/exit`);
    assert.equal(crash.status, 502);
    await until(() => server.stats().workers.filter((w) => w.state === 'ready').length === 1, 15000, 'the crashed worker respawned');
    assert.equal(server.stats().workers.filter((w) => w.cheap).length, 2);
    assert.equal((await get(`${url}/`)).status, 200);
  } finally {
    await server.close();
  }
});

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
    await s.waitForLog((l) => l.msg === 'worker started' && l.worker === 2, 15000, 'worker 2 started');
    await s.waitForLog((l) => l.msg === 'master-fifo: unknown command ignored');
    writeFileSync(fifo, '-');
    await s.waitForLog((l) => l.msg === 'worker exited' && l.reason === 'cheaper', 15000, 'a worker cheaped');
    writeFileSync(fifo, 'q');
    const exit = await s.exited;
    assert.equal(exit.code, 0);
    assert.ok(s.lines.some((l) => l.msg === 'master-fifo: graceful shutdown requested'));
    assert.ok(!existsSync(fifo), 'the FIFO is removed at exit');
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
