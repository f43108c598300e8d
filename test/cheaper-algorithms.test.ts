// Deterministic traces through the cheaper algorithms (src/cheaper): a fake clock, synthetic busy
// time and backlog, every rule of the reference's cheaper section checked one by one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cheaper, Busyness, Spare, BacklogAlgo, pickVictim } from '../src/cheaper/index.js';
import type { CheaperOptions, Decision, Snapshot, SlotView, BusynessOptions } from '../src/cheaper/index.js';
import { Scaler } from '../src/master/scaler.js';
import type { Supervisor } from '../src/master/supervisor.js';
import type { WorkerHandle } from '../src/master/worker-handle.js';
import type { Log } from '../src/log/logger.js';

function options(over: Partial<Omit<CheaperOptions, 'busyness'>> & { busyness?: Partial<BusynessOptions> } = {}): CheaperOptions {
  return {
    algo: 'busyness', min: 1, processes: 4, initial: 1, step: 1, overload: 1, checkIntervalMs: 1000,
    ...over,
    busyness: {
      min: 25, max: 50, multiplier: 3, penalty: 2, backlogAlert: 33, backlogStep: 1, backlogMultiplier: 2,
      backlogNonzeroMs: 0, verbose: false, ...over.busyness,
    },
  };
}

/** A synthetic pool: slots with cumulative busy time, a fake clock, decisions applied. */
class World {
  now = 0;
  backlog = 0;
  readonly busyMs = new Map<number, number>();
  readonly busy = new Set<number>();
  readonly spawnedAt = new Map<number, number>();
  readonly active = new Set<number>();
  readonly log: Decision[] = [];

  constructor(readonly cheaper: Cheaper, initial: number) {
    for (let id = 1; id <= initial; id++) { this.active.add(id); this.spawnedAt.set(id, 0); }
  }

  snap(): Snapshot {
    const active: SlotView[] = [...this.active].sort((a, b) => a - b).map((id) => ({
      id, busy: this.busy.has(id), busyMs: this.busyMs.get(id) ?? 0, spawnedAt: this.spawnedAt.get(id) ?? 0,
    }));
    const free: number[] = [];
    for (let id = 1; id <= this.cheaper.opts.processes; id++) if (!this.active.has(id)) free.push(id);
    return { active, free, backlog: this.backlog };
  }

  /** Every active slot busy `pct`% of the next `ms` (or per slot), then one check. */
  step(ms: number, pct: number | Record<number, number>): Decision {
    for (const id of this.active) {
      const p = typeof pct === 'number' ? pct : pct[id] ?? 0;
      this.busyMs.set(id, (this.busyMs.get(id) ?? 0) + (ms * p) / 100);
    }
    this.now += ms;
    return this.check();
  }

  check(): Decision {
    const d = this.cheaper.check(this.snap(), this.now);
    this.apply(d);
    return d;
  }

  apply(d: Decision): void {
    this.log.push(d);
    for (const id of d.spawn) { this.active.add(id); this.spawnedAt.set(id, this.now); }
    for (const id of d.cheap) { this.active.delete(id); this.busy.delete(id); }
  }

  get count(): number { return this.active.size; }
}

const busyness = (w: World): Busyness => w.cheaper.algorithm as Busyness;
const events = (d: Decision): string[] => d.records.map((r) => r.event);

// ── busyness ────────────────────────────────────────────────────────────────────────────────

test('busyness: the first check only starts the window; above max spawns cheaper-step into the lowest free slots', () => {
  const w = new World(new Cheaper(options({ step: 2 })), 1);
  const first = w.check();
  assert.deepEqual([first.spawn, first.cheap], [[], []]);
  assert.ok(events(first).includes('CHEAPER_SETTINGS'));
  const d = w.step(1000, 80);
  assert.deepEqual(d.spawn, [2, 3]);
  assert.match(d.reason, /80% above cheaper-busyness-max 50%/);
  const win = d.records.find((r) => r.event === 'CHEAPER_WINDOW');
  assert.ok(win?.verbose);
  assert.equal(win.fields.avg, 80);
  assert.ok(d.records.some((r) => r.event === 'CHEAPER_SPAWN' && !r.verbose));
});

test('busyness: the percentage uses the real elapsed window, and the average is an integer mean', () => {
  const w = new World(new Cheaper(options()), 2);
  w.check();
  // 1.5 s window (a late check), each worker busy 750 ms: 50%, not the 75% a nominal 1 s window gives.
  const d = w.step(1500, 50);
  assert.equal(busyness(w).lastAverage, 50);
  assert.deepEqual(d.spawn, []);
  // 100% and 1% → (100 + 1) / 2 = 50 (integer division), not above max
  w.step(1000, { 1: 100, 2: 1.5 });
  assert.equal(busyness(w).lastAverage, 50);
  // a checked slot's busy time over the window is capped at 100%
  w.busyMs.set(1, (w.busyMs.get(1) ?? 0) + 5000);
  w.step(1000, 0);
  assert.deepEqual(w.log.at(-1)!.records.find((r) => r.event === 'CHEAPER_WINDOW')!.fields.percents, [100, 0]);
});

test('busyness: no decision between windows (checks inside a cheaper-overload window)', () => {
  const w = new World(new Cheaper(options({ overload: 3 })), 1);
  w.check();
  assert.deepEqual(w.step(1000, 100).spawn, []);
  assert.deepEqual(w.step(1000, 100).spawn, []);
  assert.deepEqual(w.step(1000, 100).spawn, [2]); // 3 s: window ends at 100%
});

test('busyness: a worker is stopped after `multiplier` idle windows, the idle one with the oldest spawn', () => {
  const w = new World(new Cheaper(options()), 3);
  w.spawnedAt.set(1, 50); w.spawnedAt.set(2, 10); w.spawnedAt.set(3, 10);
  w.check(); // t=0: next cheap at 3000 (3 windows of 1 s)
  const d1 = w.step(1000, 0);
  assert.deepEqual(d1.cheap, []);
  assert.equal(w.step(1000, 0).cheap.length, 0);
  w.busy.add(2); // busy right now: not a candidate even though it is as old as slot 3
  const d3 = w.step(1000, 0);
  assert.deepEqual(d3.cheap, [3]); // oldest spawn among idle workers (tie 2/3 broken by busy; 1 is younger)
  assert.match(d3.reason, /0% below cheaper-busyness-min 25%/);
  assert.equal(w.count, 2);
  // the next stop needs another `multiplier` windows
  assert.deepEqual(w.step(1000, 0).cheap, []);
  assert.deepEqual(w.step(1000, 0).cheap, []);
  w.busy.clear();
  // a second consecutive cheap: multiplier would decrease, but it is at its initial value already
  assert.deepEqual(w.step(1000, 0).cheap, [2]);
  assert.equal(busyness(w).multiplier, 3);
  // never below cheaper
  for (let i = 0; i < 10; i++) assert.deepEqual(w.step(1000, 0).cheap, []);
  assert.equal(w.count, 1);
});

test('busyness: waiting for next_cheap is logged (verbose) with the remaining time', () => {
  const w = new World(new Cheaper(options()), 2);
  w.check();
  const d = w.step(1000, 0);
  const wait = d.records.find((r) => r.event === 'CHEAPER_IDLE_WAIT');
  assert.ok(wait?.verbose);
  assert.equal(wait.fields.waitMs, 2000);
});

test('busyness: only one worker → nothing happens below min or in band (no tolerance, no timer changes)', () => {
  const w = new World(new Cheaper(options({ min: 1 })), 1);
  w.check();
  const before = busyness(w).nextCheap;
  w.step(1000, 30); // in band
  w.step(1000, 30);
  w.step(1000, 30);
  assert.equal(busyness(w).tolerance, 0);
  assert.equal(busyness(w).nextCheap, before);
  const d = w.step(1000, 0);
  assert.deepEqual([d.spawn, d.cheap], [[], []]);
});

test('busyness: every worker busy when one should stop → deferred, retried (overriding the algorithm) at the next check', () => {
  const w = new World(new Cheaper(options({ busyness: { multiplier: 1 } })), 2);
  w.check();
  w.busy.add(1); w.busy.add(2); // short requests just started: low busyness, but nobody idle right now
  const d = w.step(1000, 5);
  assert.deepEqual(d.cheap, []);
  assert.equal(d.deferred, 1);
  assert.equal(w.cheaper.pending, -1);
  w.busy.delete(2);
  const next = w.step(500, 5); // not a window end: the owed stop is applied anyway
  assert.deepEqual(next.cheap, [2]);
  assert.match(next.reason, /deferred/);
  assert.equal(w.cheaper.pending, 0);
});

test('busyness: maximum reached → nothing spawned, said once per streak (then verbose), multiplier untouched', () => {
  const w = new World(new Cheaper(options({ processes: 2 })), 2);
  w.check();
  const d1 = w.step(1000, 90);
  assert.deepEqual(d1.spawn, []);
  const r1 = d1.records.find((r) => r.event === 'CHEAPER_AT_MAX');
  assert.equal(r1?.verbose, false);
  const r2 = w.step(1000, 90).records.find((r) => r.event === 'CHEAPER_AT_MAX');
  assert.equal(r2?.verbose, true);
  assert.equal(busyness(w).multiplier, 3);
  assert.equal(busyness(w).lastAction, 'none');
});

test('busyness: respawned too fast → multiplier += penalty; a later spawn decreases it by one, never below the initial value', () => {
  const w = new World(new Cheaper(options({ busyness: { multiplier: 2, penalty: 3 } })), 2);
  w.check(); // next cheap at 2000
  w.step(1000, 0);
  assert.deepEqual(w.step(1000, 0).cheap, [1]); // t=2000, last cheaped = 2000
  const d = w.step(1000, 90); // 1 window later: 1 <= 2 → penalty
  assert.deepEqual(d.spawn, [1]);
  assert.equal(busyness(w).multiplier, 5);
  assert.ok(d.records.some((r) => r.event === 'CHEAPER_MULTIPLIER' && !r.verbose && r.fields.windowsSinceCheap === 1));
  // next cheap is now 5 windows away
  for (let i = 0; i < 4; i++) assert.deepEqual(w.step(1000, 0).cheap, [], `window ${i}`);
  assert.equal(w.step(1000, 0).cheap.length, 1); // t=8000
  // spawn again 6 windows after that cheap (> multiplier 5): the multiplier decreases
  for (let i = 0; i < 5; i++) w.step(1000, 30); // in band: no action
  const later = w.step(1000, 90);
  assert.equal(later.spawn.length, 1);
  assert.equal(busyness(w).multiplier, 4);
  assert.ok(later.records.some((r) => r.event === 'CHEAPER_MULTIPLIER'));
});

test('busyness: consecutive cheaps lower a raised multiplier one step each', () => {
  const w = new World(new Cheaper(options({ processes: 4, busyness: { multiplier: 1, penalty: 2 } })), 4);
  w.check();
  assert.equal(w.step(1000, 0).cheap.length, 1); // t=1000
  assert.equal(w.step(1000, 90).spawn.length, 1); // too fast: multiplier 3
  assert.equal(busyness(w).multiplier, 3);
  w.step(1000, 0); w.step(1000, 0);
  const c1 = w.step(1000, 0); // previous action was a spawn: no decrease
  assert.equal(c1.cheap.length, 1);
  assert.equal(busyness(w).multiplier, 3);
  w.step(1000, 0); w.step(1000, 0);
  const c2 = w.step(1000, 0); // previous action was a cheap: decrease
  assert.equal(c2.cheap.length, 1);
  assert.equal(busyness(w).multiplier, 2);
});

test('busyness: tolerance — in-band windows push the cheaper timer back one window each; the third resets it fully', () => {
  const w = new World(new Cheaper(options({ busyness: { multiplier: 3 } })), 2);
  w.check(); // next cheap 3000
  w.step(1000, 0);
  w.step(1000, 0);
  w.step(1000, 30); // in band at 3000: next cheap 4000
  assert.equal(busyness(w).tolerance, 1);
  assert.equal(busyness(w).nextCheap, 4000);
  assert.equal(w.step(1000, 0).cheap.length, 1); // idle again at 4000: stop (tolerance reset)
  assert.equal(busyness(w).tolerance, 0);

  const v = new World(new Cheaper(options({ busyness: { multiplier: 3 } })), 2);
  v.check();
  v.step(1000, 0);
  v.step(1000, 30); // 2000 → 3000+1000
  v.step(1000, 30); // 3000 → 5000
  assert.equal(v.cheaper.algorithm instanceof Busyness && (v.cheaper.algorithm as Busyness).nextCheap, 5000);
  v.step(1000, 30); // third in-band window at 4000: full reset → 4000 + 3000
  assert.equal(busyness(v).nextCheap, 7000);
  assert.ok(v.log.at(-1)!.records.some((r) => r.event === 'CHEAPER_TIMER_RESET'));
  v.step(1000, 30); // and every one after: 5000 + 3000
  assert.equal(busyness(v).nextCheap, 8000);
});

test('busyness: backlog above alert between windows → emergency workers (backlog-step), multiplier reset, normal timer first, backlog multiplier after', () => {
  const w = new World(new Cheaper(options({ overload: 3, busyness: { multiplier: 5, backlogStep: 2, backlogMultiplier: 2, backlogAlert: 10 } })), 1);
  w.check(); // t=0
  busyness(w).multiplier = 9; // as if raised by penalties
  w.backlog = 11;
  const d = w.step(1000, 100); // between windows
  assert.deepEqual(d.spawn, [2, 3]);
  assert.match(d.reason, /emergency: backlog 11 above cheaper-busyness-backlog-alert 10/);
  assert.equal(busyness(w).multiplier, 5);
  assert.equal(busyness(w).emergency, 2);
  assert.equal(busyness(w).nextCheap, 1000 + 3000 * 5); // computed before the count grew
  assert.ok(d.records.some((r) => r.event === 'CHEAPER_EMERGENCY' && !r.verbose && r.fields.backlog === 11));
  const d2 = w.step(1000, 100); // still queued: one more (only one slot left)
  assert.deepEqual(d2.spawn, [4]);
  assert.equal(busyness(w).emergency, 3);
  assert.equal(busyness(w).nextCheap, 2000 + 3000 * 2); // emergency workers running: backlog multiplier
  const d3 = w.step(1000, 100); // no free slot, active == processes: no emergency; window end above max
  assert.deepEqual(d3.spawn, []);
  // the backlog empties and the pool goes idle: emergency workers are cheaped on the short timer
  w.backlog = 0;
  w.step(3000, 0); // t=6000: window, idle, next cheap at 8000 → wait
  const c = w.step(3000, 0); // t=9000 ≥ 8000
  assert.equal(c.cheap.length, 1);
  assert.equal(busyness(w).emergency, 2);
  assert.equal(busyness(w).nextCheap, 9000 + 3000 * 2);
});

test('busyness: backlog above alert at a window end (avg not above max) → emergency spawn; in-band windows count emergency workers down', () => {
  const w = new World(new Cheaper(options({ busyness: { backlogAlert: 5 } })), 2);
  w.check();
  w.backlog = 6;
  const d = w.step(1000, 40);
  assert.deepEqual(d.spawn, [3]);
  assert.equal(busyness(w).emergency, 1);
  w.backlog = 0;
  w.step(1000, 40); // in band
  assert.equal(busyness(w).emergency, 0);
});

test('busyness: backlog-nonzero — a backlog that stays non-empty (below the alert) for the period spawns an emergency worker', () => {
  const w = new World(new Cheaper(options({ overload: 10, busyness: { backlogNonzeroMs: 3000 } })), 1);
  w.check();
  w.backlog = 1;
  assert.deepEqual(w.step(1000, 100).spawn, []); // t=1000: starts watching
  assert.equal(busyness(w).backlogSince, 1000);
  assert.deepEqual(w.step(1000, 100).spawn, []);
  assert.deepEqual(w.step(1000, 100).spawn, []); // 2 s
  const d = w.step(1000, 100); // 3 s non-empty
  assert.deepEqual(d.spawn, [2]);
  assert.match(d.reason, /backlog non-empty for 3 s/);
  assert.equal(busyness(w).backlogSince, 4000); // restarted
  w.backlog = 0;
  w.step(1000, 100);
  assert.equal(busyness(w).backlogSince, null); // forgotten once empty
  w.backlog = 1;
  w.step(1000, 100);
  assert.equal(busyness(w).backlogSince, 6000);
});

test('busyness: backlog-nonzero = 0 is off', () => {
  const w = new World(new Cheaper(options({ overload: 10, busyness: { backlogNonzeroMs: 0 } })), 1);
  w.check();
  w.backlog = 1;
  for (let i = 0; i < 8; i++) assert.deepEqual(w.step(1000, 100).spawn, []);
});

test('busyness: a slot that comes back is measured from its own restart, not from busy time before it was cheaped', () => {
  const w = new World(new Cheaper(options({ busyness: { multiplier: 1 } })), 2);
  w.check();
  w.step(500, { 1: 0, 2: 0 });
  w.busyMs.set(1, 400); // slot 1 busy 400 ms early in the window...
  const d = w.step(500, 0); // window end (1000): 20% avg... both below min → cheap oldest idle (slot 1)
  assert.deepEqual(d.cheap, [1]);
  w.step(1000, 90); // slot 2 alone at 90% → spawn back into slot 1
  assert.ok(w.active.has(1));
  const win = w.step(1000, { 1: 10, 2: 10 }).records.find((r) => r.event === 'CHEAPER_WINDOW')!;
  assert.deepEqual(win.fields.percents, [10, 10]); // slot 1's old 400 ms does not count again
});

// ── spare ───────────────────────────────────────────────────────────────────────────────────

test('spare: spawns after more than cheaper-overload overloaded checks; one spare is stable; idle workers stopped every overload checks', () => {
  const c = new Cheaper(options({ algo: 'spare', overload: 2, step: 2, processes: 5 }));
  assert.ok(c.algorithm instanceof Spare);
  const w = new World(c, 2);
  w.busy.add(1); w.busy.add(2);
  assert.deepEqual(w.check().spawn, []); // overload 1
  assert.deepEqual(w.check().spawn, []); // 2
  assert.deepEqual(w.check().spawn, [3, 4]); // 3 > 2 → step 2
  assert.equal((c.algorithm as Spare).overloadCount, 0);
  // 4 workers, 3 busy: exactly one spare → stable
  w.busy.add(3);
  for (let i = 0; i < 5; i++) assert.deepEqual([w.check().spawn, w.check().cheap], [[], []]);
  // everyone idle: a stop every 2nd check, never below cheaper (1)
  w.busy.clear();
  const stops = [];
  for (let i = 0; i < 10; i++) stops.push(w.check().cheap.length);
  assert.deepEqual(stops, [0, 1, 0, 1, 0, 1, 0, 0, 0, 0]);
  assert.equal(w.count, 1);
});

test('spare: an idle check lowers the overload count (floor 0) instead of resetting it', () => {
  const c = new Cheaper(options({ algo: 'spare', overload: 3, processes: 3 }));
  const w = new World(c, 2);
  const a = c.algorithm as Spare;
  w.busy.add(1); w.busy.add(2);
  w.check(); w.check(); w.check(); // 3
  w.busy.delete(2);
  w.check(); // 2
  assert.equal(a.overloadCount, 2);
  w.busy.add(2);
  w.check(); w.check(); // 4 > 3 → spawn
  assert.equal(w.count, 3);
});

// ── backlog ─────────────────────────────────────────────────────────────────────────────────

test('backlog: above cheaper-overload spawns cheaper-step, below stops one per check down to cheaper, equal does nothing', () => {
  const c = new Cheaper(options({ algo: 'backlog', overload: 3, step: 2, processes: 4 }));
  assert.ok(c.algorithm instanceof BacklogAlgo);
  const w = new World(c, 1);
  w.backlog = 4;
  assert.deepEqual(w.check().spawn, [2, 3]);
  assert.deepEqual(w.check().spawn, [4]);
  assert.deepEqual(w.check().spawn, []); // full
  w.backlog = 3;
  assert.deepEqual([w.check().spawn, w.check().cheap], [[], []]);
  w.backlog = 0;
  assert.equal(w.check().cheap.length, 1);
  assert.equal(w.check().cheap.length, 1);
  assert.equal(w.check().cheap.length, 1);
  assert.equal(w.check().cheap.length, 0);
  assert.equal(w.count, 1);
});

// ── manual and the common machinery ─────────────────────────────────────────────────────────

test('manual: the algorithm never decides; scale(+N) fills the lowest free slots up to processes', () => {
  const c = new Cheaper(options({ algo: 'manual', processes: 4, min: 1 }));
  const w = new World(c, 1);
  w.active.add(3); // slots 2 and 4 are free
  for (let i = 0; i < 5; i++) assert.deepEqual(w.step(1000, 100).spawn, []);
  const d = c.scale(w.snap(), 5);
  w.apply(d);
  assert.deepEqual(d.spawn, [2, 4]);
  assert.ok(d.records.some((r) => r.event === 'CHEAPER_AT_MAX' && r.fields.wanted === 5 && r.fields.started === 2));
});

test('manual: scale(-N) stops idle workers oldest first, never below cheaper; busy ones are owed and stopped at the next checks', () => {
  const c = new Cheaper(options({ algo: 'manual', processes: 5, min: 2 }));
  const w = new World(c, 5);
  [40, 10, 30, 10, 20].forEach((t, i) => w.spawnedAt.set(i + 1, t));
  w.busy.add(2);
  const d = c.scale(w.snap(), -2);
  w.apply(d);
  assert.deepEqual(d.cheap, [4, 5]); // 2 is busy; 4 is oldest idle (tie with 2), then 5 (20)
  const e = c.scale(w.snap(), -5); // 3 active, min 2 → one more at most
  w.apply(e);
  assert.deepEqual(e.cheap, [3]);
  assert.equal(e.deferred, 0);
  assert.equal(w.count, 2);

  const c2 = new Cheaper(options({ algo: 'manual', processes: 3, min: 1 }));
  const v = new World(c2, 3);
  v.busy.add(1); v.busy.add(2); v.busy.add(3);
  const f = c2.scale(v.snap(), -2);
  assert.deepEqual([f.cheap, f.deferred], [[], 2]);
  v.busy.delete(3);
  const g = v.check();
  assert.deepEqual([g.cheap, g.deferred], [[3], 1]); // one owed stop per check; the other stays owed
  v.busy.delete(2);
  const h = v.check();
  assert.deepEqual([h.cheap, h.deferred], [[2], 0]);
  assert.equal(v.count, 1);
});

test('pickVictim: idle and stoppable only, oldest spawn, ties to the lowest id', () => {
  const v = (id: number, spawnedAt: number, busy = false, stoppable = true): SlotView => ({ id, busy, busyMs: 0, spawnedAt, stoppable });
  assert.equal(pickVictim([v(3, 5), v(2, 5), v(1, 9)])?.id, 2);
  assert.equal(pickVictim([v(1, 1, true), v(2, 2)])?.id, 2);
  assert.equal(pickVictim([v(1, 1, false, false), v(2, 2)])?.id, 2);
  assert.equal(pickVictim([v(1, 1, true), v(2, 2, false, false)]), null);
});

// ── the master's busy clock (continuous measurement) ───────────────────────────────────────

test('scaler: a slot\'s busy time is the sum of its workers\' own clocks; an exited worker\'s time stays in the slot', () => {
  const old = { slot: 1, state: 'retiring', ownBusyMs: () => 300 } as unknown as WorkerHandle;
  const fresh = { slot: 1, state: 'ready', ownBusyMs: () => 50 } as unknown as WorkerHandle;
  const other = { slot: 2, state: 'ready', ownBusyMs: () => 7 } as unknown as WorkerHandle;
  const live = new Set([old, fresh, other]);
  const sup = { cheap: new Set<number>(), slots: [null, fresh, other], live, shuttingDown: false, isReloading: false, replacing: () => false } as unknown as Supervisor;
  const log = { info() {}, warn() {} } as unknown as Log;
  const s = new Scaler(options({ processes: 2, initial: 2 }), sup, log, () => 0, () => 0, () => 0);
  assert.equal(s.busyMs(1), 350); // a recycle: the retiring and the new worker of the slot count together
  assert.equal(s.busyMs(2), 7);
  (old as { state: string }).state = 'dead';
  live.delete(old);
  assert.equal(s.busyMs(1), 350); // folded into the slot when it exits
});
