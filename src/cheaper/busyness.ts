// uWSGI's `busyness` cheaper algorithm (plugins/cheaper_busyness), rule by rule, with the two
// improvements the reference asks for: busy time is measured continuously (the time a running
// request has spent so far counts in the window where it is spent, so uWSGI's "busy but nothing
// completed → 100%" override is not needed), and a window's percentage is computed against the
// window's real elapsed length instead of the nominal cheaper-overload seconds.
//
// Times are monotonic milliseconds. The class holds the algorithm's state (the C plugin's
// globals); `decide` is deterministic: same snapshots and clock → same decisions.
import type { Algorithm, AlgoResult, CheaperOptions, CheaperEvent, LogRecord, Snapshot } from './types.js';

type LastAction = 'none' | 'spawn' | 'cheap';

export class Busyness implements Algorithm {
  readonly name = 'busyness' as const;
  /** Current cheaper multiplier (grows with the penalty, shrinks back to the initial value). */
  multiplier: number;
  /** The initial multiplier: the floor for decreases (uWSGI's min_multi). */
  readonly minMultiplier: number;
  /** Emergency (backlog) workers counted as running. */
  emergency = 0;
  /** Consecutive in-band windows (min <= avg <= max). */
  tolerance = 0;
  /** A worker may be cheaped from this time on. */
  nextCheap = 0;
  /** Start of the current window (NaN before the first call). */
  windowStart = Number.NaN;
  lastCheaped = Number.NEGATIVE_INFINITY;
  lastAction: LastAction = 'none';
  /** Since when the backlog has been non-empty (null: it is empty). */
  backlogSince: number | null = null;
  /** Average busyness of the last complete window (for stats), -1 before the first one. */
  lastAverage = -1;
  /** Saturated at max: "already started maximum" was said for this streak. */
  private saidMax = false;
  /** Busy-ms counter of each slot at the start of the current window. */
  private readonly base = new Map<number, number>();
  /** Busy-ms counter of each slot at the last check where it was active. */
  private readonly seen = new Map<number, number>();
  private readonly windowMs: number;

  constructor(private readonly opts: CheaperOptions) {
    this.multiplier = opts.busyness.multiplier;
    this.minMultiplier = opts.busyness.multiplier;
    this.windowMs = opts.overload * 1000;
  }

  decide(s: Snapshot, now: number, canSpawn: boolean): AlgoResult {
    const o = this.opts.busyness;
    const records: LogRecord[] = [];
    if (Number.isNaN(this.windowStart)) {
      this.windowStart = now;
      this.setNextCheap(now, records);
      records.push(info('CHEAPER_SETTINGS', 'busyness settings', {
        min: o.min, max: o.max, overloadS: this.opts.overload, multiplier: o.multiplier, penalty: o.penalty,
        backlogAlert: o.backlogAlert, backlogStep: o.backlogStep, backlogMultiplier: o.backlogMultiplier,
        backlogNonzeroS: o.backlogNonzeroMs / 1000,
      }));
    }
    // Baselines: a slot that (re)appears starts its window from the counter it had when last seen
    // (a cheap slot's counter does not move), or 0 for a slot never seen.
    for (const w of s.active) {
      if (!this.base.has(w.id)) this.base.set(w.id, this.seen.get(w.id) ?? 0);
      this.seen.set(w.id, w.busyMs);
    }
    const active = s.active.length;
    const elapsed = now - this.windowStart;

    if (elapsed >= this.windowMs) return this.endOfWindow(s, now, elapsed, canSpawn, records);

    // ---- between windows: backlog watch (every check) ----
    if (canSpawn && s.backlog > o.backlogAlert && active < this.opts.processes) {
      return this.emergencySpawn(s, now, `backlog ${s.backlog} above cheaper-busyness-backlog-alert ${o.backlogAlert}`, records);
    }
    if (s.backlog > 0) {
      if (this.backlogSince === null) {
        this.backlogSince = now;
        records.push(verbose('CHEAPER_BACKLOG', 'busyness: backlog is starting to fill', { backlog: s.backlog }));
      } else if (o.backlogNonzeroMs > 0 && canSpawn && now - this.backlogSince >= o.backlogNonzeroMs) {
        const forS = round1((now - this.backlogSince) / 1000);
        this.backlogSince = now;
        return this.emergencySpawn(s, now, `backlog non-empty for ${forS} s (cheaper-busyness-backlog-nonzero ${o.backlogNonzeroMs / 1000} s)`, records);
      }
    } else if (this.backlogSince !== null) {
      this.backlogSince = null;
      records.push(verbose('CHEAPER_BACKLOG', 'busyness: backlog is empty again', {}));
    }
    return { delta: 0, reason: '', records };
  }

  private endOfWindow(s: Snapshot, now: number, elapsed: number, canSpawn: boolean, records: LogRecord[]): AlgoResult {
    const o = this.opts.busyness;
    const active = s.active.length;
    this.windowStart = now;
    const percents: number[] = [];
    let total = 0;
    for (const w of s.active) {
      const delta = Math.max(0, w.busyMs - (this.base.get(w.id) ?? 0));
      const percent = Math.min(100, Math.floor((delta * 100) / elapsed));
      percents.push(percent);
      total += percent;
      this.base.set(w.id, w.busyMs);
    }
    const activeIds = new Set(s.active.map((w) => w.id));
    for (const id of [...this.base.keys()]) if (!activeIds.has(id)) this.base.delete(id);
    const avg = active ? Math.floor(total / active) : 0;
    this.lastAverage = avg;
    const numbers = {
      avg, min: o.min, max: o.max, workers: active, windowMs: Math.round(elapsed),
      slots: s.active.map((w) => w.id), percents, backlog: s.backlog,
      multiplier: this.multiplier, emergency: this.emergency,
    };
    records.push(verbose('CHEAPER_WINDOW', 'busyness window', numbers));

    // 1. overloaded: spawn up to cheaper-step
    if (avg > o.max) {
      this.tolerance = 0;
      const n = canSpawn ? Math.min(this.opts.step, s.free.length) : 0;
      if (n > 0) {
        this.saidMax = false;
        this.lastAction = 'spawn';
        const windowsSinceCheap = Math.floor((now - this.lastCheaped) / this.windowMs);
        if (windowsSinceCheap <= this.multiplier) {
          this.multiplier += o.penalty;
          records.push(info('CHEAPER_MULTIPLIER', 'busyness: workers respawned too fast, increasing the cheaper multiplier', {
            multiplier: this.multiplier, penalty: o.penalty, windowsSinceCheap,
          }));
        } else {
          this.decreaseMultiplier(records);
        }
        this.setNextCheap(now, records);
        return { delta: n, reason: `average busyness ${avg}% above cheaper-busyness-max ${o.max}%`, records };
      }
      if (canSpawn) {
        records.push({
          event: 'CHEAPER_AT_MAX', verbose: this.saidMax, level: 'info', msg: 'busyness: above max but every worker is already running',
          fields: { avg, max: o.max, processes: this.opts.processes },
        });
        this.saidMax = true;
      }
      return { delta: 0, reason: '', records };
    }
    this.saidMax = false;

    // 2. backlog emergency, checked at window end too
    if (canSpawn && s.backlog > o.backlogAlert && active < this.opts.processes) {
      return this.emergencySpawn(s, now, `backlog ${s.backlog} above cheaper-busyness-backlog-alert ${o.backlogAlert}`, records);
    }

    // 3. idle window
    if (avg < o.min) {
      if (active === 1) return { delta: 0, reason: '', records }; // nothing to do with one worker
      this.tolerance = 0;
      if (active > this.opts.min) {
        if (now >= this.nextCheap) {
          if (this.lastAction === 'cheap') this.decreaseMultiplier(records);
          this.setNextCheap(now, records);
          this.lastCheaped = now;
          this.lastAction = 'cheap';
          if (this.emergency > 0) this.emergency--;
          return { delta: -1, reason: `average busyness ${avg}% below cheaper-busyness-min ${o.min}%`, records };
        }
        records.push(verbose('CHEAPER_IDLE_WAIT', 'busyness: idle, waiting before stopping a worker', { waitMs: Math.ceil(this.nextCheap - now), avg }));
      }
      return { delta: 0, reason: '', records };
    }

    // 4. in band (min <= avg <= max): not an idle window
    if (active === 1) return { delta: 0, reason: '', records };
    if (this.emergency > 0) this.emergency--;
    this.tolerance++;
    if (this.tolerance >= 3) {
      records.push(verbose('CHEAPER_TIMER_RESET', 'busyness: non-idle windows in a row, resetting the cheaper timer', { avg, windows: this.tolerance }));
      this.setNextCheap(now, records);
    } else {
      this.nextCheap += this.windowMs;
      records.push(verbose('CHEAPER_TIMER_BACK', 'busyness: non-idle window, pushing the cheaper timer back one window', { avg, windows: this.tolerance }));
    }
    return { delta: 0, reason: '', records };
  }

  private emergencySpawn(s: Snapshot, now: number, why: string, records: LogRecord[]): AlgoResult {
    this.multiplier = this.minMultiplier;
    this.lastAction = 'spawn';
    const n = Math.min(this.opts.busyness.backlogStep, s.free.length);
    this.setNextCheap(now, records); // before the count grows: the first emergency uses the normal multiplier
    this.emergency += n;
    if (n === 0) {
      records.push(verbose('CHEAPER_AT_MAX', 'busyness: backlog alert but every worker is already running', { backlog: s.backlog }));
      return { delta: 0, reason: '', records };
    }
    records.push(info('CHEAPER_EMERGENCY', 'busyness: spawning emergency workers', { backlog: s.backlog, workers: n, emergency: this.emergency }));
    return { delta: n, reason: `emergency: ${why}`, records };
  }

  private setNextCheap(now: number, records: LogRecord[]): void {
    const o = this.opts.busyness;
    if (this.emergency > 0) {
      records.push(verbose('CHEAPER_EMERGENCY', 'busyness: emergency workers running, using the backlog multiplier', { emergency: this.emergency, waitMs: this.windowMs * o.backlogMultiplier }));
      this.nextCheap = now + this.windowMs * o.backlogMultiplier;
    } else {
      this.nextCheap = now + this.windowMs * this.multiplier;
    }
  }

  private decreaseMultiplier(records: LogRecord[]): void {
    if (this.multiplier > this.minMultiplier) {
      this.multiplier--;
      records.push(info('CHEAPER_MULTIPLIER', 'busyness: decreasing the cheaper multiplier', { multiplier: this.multiplier }));
    }
  }
}

const info = (event: CheaperEvent, msg: string, fields: LogRecord['fields']): LogRecord => ({ event, verbose: false, level: 'info', msg, fields });
const verbose = (event: CheaperEvent, msg: string, fields: LogRecord['fields']): LogRecord => ({ event, verbose: true, level: 'info', msg, fields });
const round1 = (x: number): number => Math.round(x * 10) / 10;
