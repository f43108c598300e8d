// accept = workers: the busy time a worker measures itself (src/protocol/busy-clock.ts), read by the
// master's scaler per slot across exits and recycles, and the workers' in-flight counts mirrored
// into the scoreboard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { BusyClock, readBusyMs, monoMs } from '../src/protocol/busy-clock.js';
import { OWN_IN_FLIGHT, OWN_SEQ_I32, OWN_STATE_BYTES } from '../src/protocol/worker.js';
import { Scaler } from '../src/master/scaler.js';
import { createSharedCore } from '../src/shm/layout.js';
import type { CheaperOptions } from '../src/cheaper/index.js';
import type { Supervisor } from '../src/master/supervisor.js';
import type { WorkerHandle } from '../src/master/worker-handle.js';
import type { Log } from '../src/log/logger.js';
import { fixture } from './helpers/spindle.js';

function state(): { sab: SharedArrayBuffer; f64: Float64Array; seq: Int32Array } {
  const sab = new SharedArrayBuffer(OWN_STATE_BYTES);
  return { sab, f64: new Float64Array(sab), seq: new Int32Array(sab) };
}

test('BusyClock: busy while at least one request is in flight, whatever the overlap; the running period counts up to the reader\'s now', () => {
  const { sab, f64, seq } = state();
  let now = 1000;
  const clock = new BusyClock(sab, () => now);
  assert.equal(readBusyMs(f64, seq, now), 0);
  clock.inFlight(1);
  assert.equal(f64[OWN_IN_FLIGHT], 1);
  now = 1500;
  assert.equal(readBusyMs(f64, seq, 1500), 500, 'in progress: counted up to now');
  clock.inFlight(2); // overlap: the same busy period
  now = 1700; clock.inFlight(1);
  now = 2000; clock.inFlight(0);
  assert.equal(f64[OWN_IN_FLIGHT], 0);
  assert.equal(readBusyMs(f64, seq, 9000), 1000, 'idle time is not counted');
  now = 10_000; clock.inFlight(3);
  now = 10_250; clock.inFlight(0);
  assert.equal(readBusyMs(f64, seq, 20_000), 1250);
  assert.equal(seq[OWN_SEQ_I32]! % 2, 0, 'no write left open');
});

test('BusyClock: a period ends with one plain store, added to the total when the next one starts; readers in between count it up to its end', () => {
  const { sab, f64, seq } = state();
  let now = 100;
  const clock = new BusyClock(sab, () => now);
  clock.inFlight(1);
  now = 130; clock.inFlight(0);
  assert.equal(seq[OWN_SEQ_I32], 2, 'the end wrote no sequence word');
  assert.equal(readBusyMs(f64, seq, 10_000), 30, 'ended: not counted on up to the reader\'s now');
  clock.inFlight(1); // starts at the very moment the last one ended
  assert.equal(readBusyMs(f64, seq, 130), 30);
  assert.equal(readBusyMs(f64, seq, 150), 50, 'running: up to the reader\'s now');
  now = 170; clock.inFlight(0);
  assert.equal(readBusyMs(f64, seq, 500), 70);
  // Many short periods, read after every change: the figure never goes backwards and ends exact.
  let last = 0;
  let expected = 70;
  for (let i = 0; i < 200; i++) {
    now += 3; clock.inFlight(1);
    const started = readBusyMs(f64, seq, now + 1);
    assert.ok(started >= last, `${started} after ${last}`);
    now += 2; clock.inFlight(0);
    expected += 2;
    last = readBusyMs(f64, seq, now + 50);
    assert.equal(last, expected);
  }
  assert.equal(seq[OWN_SEQ_I32]! % 2, 0, 'no write left open');
});

test('BusyClock across threads: the master reads exactly what a worker thread measured, on one clock', async () => {
  const { sab, f64, seq } = state();
  const w = new Worker(new URL(`file://${fixture('cheaper/busy-writer.mjs')}`), { workerData: { ownState: sab } });
  const ask = (n: number) => new Promise<number | null>((resolve) => { w.once('message', resolve); w.postMessage(n); });
  try {
    let expected = 0;
    for (let round = 0; round < 3; round++) {
      const t0 = await ask(1);
      assert.ok(typeof t0 === 'number');
      const seen = monoMs();
      assert.ok(seen >= t0 && seen - t0 < 5000, `the worker's clock is the master's (${t0} vs ${seen})`);
      assert.equal(await ask(2), null, 'a second request in flight is the same busy period');
      const now = monoMs();
      assert.equal(readBusyMs(f64, seq, now), expected + (now - t0), 'in progress');
      assert.equal(await ask(1), null);
      const t1 = await ask(0);
      assert.ok(typeof t1 === 'number');
      expected += t1 - t0;
      assert.equal(readBusyMs(f64, seq), expected, 'ended periods, exactly as the worker measured them');
    }
  } finally {
    await w.terminate();
  }
});

// ── the scaler's per-slot busy time from the workers' clocks ───────────────────────────────

function options(processes: number): CheaperOptions {
  return {
    algo: 'manual', min: 1, processes, initial: processes, step: 1, overload: 1, checkIntervalMs: 1000,
    busyness: { min: 25, max: 50, multiplier: 3, penalty: 2, backlogAlert: 33, backlogStep: 1, backlogMultiplier: 2, backlogNonzeroMs: 0, verbose: false },
  };
}

interface FakeHandle { slot: number; own: Float64Array; state: string; busy: number; inFlightOwn: number; spawnedAt: number; inFlight: Map<number, unknown> }

function fakeHandle(slot: number): FakeHandle & WorkerHandle {
  const h = {
    slot, own: new Float64Array(1), state: 'ready', busy: 0, inFlightOwn: 0, spawnedAt: 0, inFlight: new Map<number, unknown>(),
    ownBusyMs() { return h.busy; },
    get requestsInFlight() { return h.inFlightOwn; },
  };
  return h as unknown as FakeHandle & WorkerHandle;
}

test('scaler: a slot\'s busy time adds its workers\' own clocks, keeps an exited worker\'s time, and adds both workers of a recycle', () => {
  const live = new Set<WorkerHandle>();
  const slots: (WorkerHandle | null)[] = [null, null, null];
  const sup = { cheap: new Set<number>(), slots, live, shuttingDown: false, isReloading: false, replacing: () => false } as unknown as Supervisor;
  const log = { info() {}, warn() {} } as unknown as Log;
  const s = new Scaler(options(2), sup, log, () => 0, () => 0, () => 0);
  const a = fakeHandle(1);
  const b = fakeHandle(2);
  for (const h of [a, b]) { live.add(h); slots[h.slot] = h; }
  a.busy = 400; b.busy = 100;
  assert.deepEqual([s.busyMs(1), s.busyMs(2)], [400, 100]);

  // a is terminated in a busy period: its time up to the exit stays in slot 1, its replacement adds to it
  a.busy = 700;
  s.tick(); // the 100 ms cycle sees the clocks
  a.state = 'dead'; live.delete(a);
  const c = fakeHandle(1);
  live.add(c); slots[1] = c;
  assert.equal(s.busyMs(1), 700);
  a.busy = 5000; // a dead worker's running period is not counted on
  c.busy = 50;
  assert.equal(s.busyMs(1), 750);

  // recycle of slot 2: the retiring and the new worker both count until the old one exits
  const d = fakeHandle(2);
  b.state = 'retiring'; live.add(d); slots[2] = d;
  b.busy = 300; d.busy = 20;
  assert.equal(s.busyMs(2), 320);
  b.state = 'dead'; live.delete(b);
  assert.equal(s.busyMs(2), 320);

  // busy (spare, the choice of the worker to stop) is the current worker's requests in flight
  c.inFlightOwn = 2;
  assert.deepEqual(s.snapshot().active.map((v) => [v.id, v.busy, v.busyMs]), [[1, true, 750], [2, false, 320]]);
});

// ── the scoreboard: in flight and busy/idle from the workers ───────────────────────────────

test('scoreboard.setInFlight: in_flight and the busy start; the state is left alone', () => {
  const core = createSharedCore({ workerSlots: 1, muleSlots: 0, locks: 0, counters: { max: 0, declared: [] }, caches: [] });
  const sb = core.scoreboard;
  sb.spawned(0, 7, Date.now());
  sb.setInFlight(0, 2, 100);
  assert.deepEqual([sb.snapshot(0).state, sb.snapshot(0).inFlight], ['starting', 2], 'a starting worker stays starting');
  sb.setInFlight(0, 0, 100);
  sb.setState(0, 'ready');
  sb.setInFlight(0, 3, 200);
  let snap = sb.snapshot(0);
  assert.deepEqual([snap.state, snap.inFlight, snap.inRequestSince], ['ready', 3, 200]);
  sb.setInFlight(0, 1, 300);
  snap = sb.snapshot(0);
  assert.deepEqual([snap.state, snap.inFlight, snap.inRequestSince], ['ready', 1, 200], 'still the same busy period');
  sb.setInFlight(0, 0, 400);
  snap = sb.snapshot(0);
  assert.deepEqual([snap.state, snap.inFlight, snap.inRequestSince], ['ready', 0, 0]);
  sb.setState(0, 'retiring');
  sb.setInFlight(0, 1, 500);
  assert.equal(sb.snapshot(0).state, 'retiring');
});
