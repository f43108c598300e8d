// Cheaper in the master: measures each slot's busy time exactly, builds snapshots for the pure
// algorithms in src/cheaper, and applies their decisions through the supervisor: spawn into the
// lowest cheap slots, stop a victim gracefully (it finishes its requests; its slot stays cheap and
// is not refilled).
//
// Busy time: a slot is busy while at least one request is in flight on a worker of that slot
// (with concurrency > 1 that is "any request in flight", not a fraction of the concurrency). Each
// worker keeps its own busy time in shared memory (src/protocol/busy-clock.ts) and the master reads
// it, so there is no sampling error and an in-progress request counts up to the moment of reading.
// Each worker's clock counts once; during a recycle the two workers of a slot are added (a
// window's percentage is capped at 100 per slot), and an exited worker's time stays in its slot.
//
// Busy (for spare and the choice of the worker to stop): the slot's current worker has a request
// in flight. The backlog is the kernel's accept queue of the listening sockets
// (src/master/kernel-backlog.ts).
import { performance } from 'node:perf_hooks';
import type { Log } from '../log/logger.js';
import { Cheaper } from '../cheaper/cheaper.js';
import { Busyness } from '../cheaper/busyness.js';
import type { CheaperOptions, Decision, LogRecord, SlotView, Snapshot } from '../cheaper/types.js';
import type { Supervisor } from './supervisor.js';
import type { WorkerHandle } from './worker-handle.js';
import { monoMs } from '../protocol/busy-clock.js';

export interface ScaleResult {
  /** Slots a worker was started in. */
  started: number[];
  /** Slots whose worker is stopping (gracefully). */
  stopped: number[];
  /** Stops still owed because every worker was busy (retried at each check). */
  owed: number;
  /** Active workers after this call. */
  active: number;
}

export interface CheaperStats {
  algo: string;
  /** cheaper: the minimum */
  min: number;
  /** processes: the maximum */
  max: number;
  /** Workers running (not cheap). */
  active: number;
  /** Workers started / stopped by the cheaper since start. */
  spawns: number;
  cheaps: number;
  /** Stops owed because every worker was busy. */
  owed: number;
  /** busyness: average of the last window (%), -1 before the first; undefined for other algorithms. */
  busyness?: number;
  /** busyness: current multiplier and emergency workers. */
  multiplier?: number;
  emergency?: number;
}

export class Scaler {
  readonly cheaper: Cheaper;
  /** The busy ms of each slot's exited workers (their clocks are read no more). */
  private readonly ownBase: number[];
  /** The workers whose own busy clock counts in their slot, not yet folded into ownBase. */
  private readonly ownClocks = new Set<WorkerHandle>();
  private lastCheck = Number.NEGATIVE_INFINITY;
  spawns = 0;
  cheaps = 0;

  constructor(
    readonly opts: CheaperOptions,
    private readonly supervisor: Supervisor,
    private readonly log: Log,
    private readonly backlog: () => number,
    private readonly clock: () => number = () => performance.now(),
    /** The workers' busy clocks' time base (busy-clock.ts). */
    private readonly workerClock: () => number = monoMs,
  ) {
    this.cheaper = new Cheaper(opts);
    const n = opts.processes + 1;
    this.ownBase = new Array<number>(n).fill(0);
    for (let slot = opts.initial + 1; slot <= opts.processes; slot++) supervisor.cheap.add(slot);
    log.info({ event: 'CHEAPER_ON', algo: opts.algo, cheaper: opts.min, initial: opts.initial, processes: opts.processes, step: opts.step, overload: opts.overload }, 'cheaper: adaptive worker count on');
  }

  /** Cumulative busy milliseconds of `slot`, including running requests up to now. */
  busyMs(slot: number): number {
    this.trackClocks(this.workerClock());
    let ms = this.ownBase[slot]!;
    for (const h of this.ownClocks) if (h.slot === slot) ms += h.ownBusyMs(this.workerClock());
    return ms;
  }

  /**
   * Counts the busy clocks of new workers, and folds an exited worker's into its slot's base (a
   * worker terminated in a busy period is counted up to now: at most one 100 ms tick too long).
   */
  private trackClocks(workerNow: number): void {
    for (const h of this.supervisor.live) if (!this.ownClocks.has(h)) this.ownClocks.add(h);
    for (const h of this.ownClocks) {
      if (h.state !== 'dead') continue;
      this.ownBase[h.slot]! += h.ownBusyMs(workerNow);
      this.ownClocks.delete(h);
    }
  }

  isCheap(slot: number): boolean {
    return this.supervisor.cheap.has(slot);
  }

  snapshot(now = this.clock()): Snapshot {
    const active: SlotView[] = [];
    const free: number[] = [];
    const sup = this.supervisor;
    for (let slot = 1; slot <= this.opts.processes; slot++) {
      const h = sup.slots[slot];
      if (h) {
        active.push({
          id: slot,
          busy: h.requestsInFlight > 0,
          busyMs: this.busyMs(slot),
          spawnedAt: h.spawnedAt,
          stoppable: h.state === 'ready' && !sup.replacing(slot),
        });
      } else if (sup.cheap.has(slot)) {
        free.push(slot);
      }
    }
    return { active, free, backlog: this.backlog() };
  }

  /** From the master's 100 ms cycle: one cheaper check per check interval (1 s). */
  tick(now = this.clock()): void {
    this.trackClocks(this.workerClock());
    if (now - this.lastCheck < this.opts.checkIntervalMs) return;
    if (this.supervisor.shuttingDown || this.supervisor.isReloading) return;
    this.lastCheck = now;
    this.apply(this.cheaper.check(this.snapshot(now), now));
  }

  /** Manual scaling: +N / −N workers, within cheaper..processes. */
  scale(delta: number): ScaleResult {
    if (this.supervisor.shuttingDown) return { started: [], stopped: [], owed: 0, active: this.activeCount() };
    const d = this.cheaper.scale(this.snapshot(), delta);
    const { started, stopped } = this.apply(d);
    return { started, stopped, owed: d.deferred, active: this.activeCount() };
  }

  stats(): CheaperStats {
    const a = this.cheaper.algorithm;
    return {
      algo: a.name, min: this.opts.min, max: this.opts.processes, active: this.activeCount(),
      spawns: this.spawns, cheaps: this.cheaps, owed: this.cheaper.pending < 0 ? -this.cheaper.pending : 0,
      ...(a instanceof Busyness ? { busyness: a.lastAverage, multiplier: a.multiplier, emergency: a.emergency } : {}),
    };
  }

  private activeCount(): number {
    let n = 0;
    for (let slot = 1; slot <= this.opts.processes; slot++) if (this.supervisor.slots[slot]) n++;
    return n;
  }

  private apply(d: Decision): { started: number[]; stopped: number[] } {
    for (const r of d.records) this.write(r);
    const started: number[] = [];
    const stopped: number[] = [];
    for (const slot of d.spawn) if (this.supervisor.wake(slot)) started.push(slot);
    for (const slot of d.cheap) if (this.supervisor.cheapen(slot)) stopped.push(slot);
    this.spawns += started.length;
    this.cheaps += stopped.length;
    return { started, stopped };
  }

  private write(r: LogRecord): void {
    if (r.verbose && !this.opts.busyness.verbose) return;
    if (r.level === 'warn') this.log.warn({ event: r.event, ...r.fields }, r.msg);
    else this.log.info({ event: r.event, ...r.fields }, r.msg);
  }
}
