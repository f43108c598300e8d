// The common cheaper machinery (uWSGI core/master_utils.c:uwsgi_calc_cheaper), pure: one check
// turns a snapshot into a decision. A pending delta (manual scale() / master-FIFO +/-, or stops
// deferred because every worker was busy) overrides the algorithm for that check; spawns go to
// the lowest free slots; the victim of a stop is the idle worker with the oldest spawn.
import { Busyness } from './busyness.js';
import { BacklogAlgo, Manual, Spare } from './simple.js';
import type { Algorithm, CheaperOptions, Decision, LogRecord, SlotView, Snapshot } from './types.js';

export function createAlgorithm(opts: CheaperOptions): Algorithm {
  switch (opts.algo) {
    case 'busyness': return new Busyness(opts);
    case 'spare': return new Spare(opts);
    case 'backlog': return new BacklogAlgo(opts);
    case 'manual': return new Manual();
  }
}

/**
 * The worker to stop: among active, stoppable workers with no request in flight, the one with the
 * oldest spawn (ties: lowest slot id). null when every candidate is busy.
 */
export function pickVictim(active: readonly SlotView[]): SlotView | null {
  let best: SlotView | null = null;
  for (const w of active) {
    if (w.busy || w.stoppable === false) continue;
    if (!best || w.spawnedAt < best.spawnedAt || (w.spawnedAt === best.spawnedAt && w.id < best.id)) best = w;
  }
  return best;
}

export class Cheaper {
  readonly algorithm: Algorithm;
  /** Delta owed: manual requests not applied yet and stops deferred because all were busy. */
  pending = 0;
  checks = 0;

  constructor(readonly opts: CheaperOptions, algorithm?: Algorithm) {
    this.algorithm = algorithm ?? createAlgorithm(opts);
  }

  /** One periodic check (the master runs it every `checkIntervalMs`). */
  check(s: Snapshot, now: number): Decision {
    this.checks++;
    if (this.pending !== 0) {
      const delta = this.pending;
      this.pending = 0;
      return this.apply(s, delta, delta > 0 ? 'manual scale' : 'deferred stop (every worker was busy)', [], delta > 0 ? Infinity : 1);
    }
    const r = this.algorithm.decide(s, now, true);
    return this.apply(s, r.delta, r.reason, r.records, 1);
  }

  /**
   * Manual scaling (API / master FIFO): +N starts up to N workers in the lowest free slots, −N
   * stops up to N idle workers (never below `cheaper`); stops that find every worker busy are
   * owed and retried at the next checks. Applied at once (uWSGI waits for the next check).
   */
  scale(s: Snapshot, delta: number): Decision {
    if (!Number.isInteger(delta) || delta === 0) return { spawn: [], cheap: [], reason: '', deferred: this.owed(), records: [] };
    // A new request replaces an owed one in the same direction and cancels an opposite one.
    this.pending = 0;
    return this.apply(s, delta, delta > 0 ? `manual scale +${delta}` : `manual scale ${delta}`, [], Infinity);
  }

  private owed(): number {
    return this.pending < 0 ? -this.pending : 0;
  }

  private apply(s: Snapshot, delta: number, reason: string, records: LogRecord[], maxStops: number): Decision {
    const active = s.active.length;
    if (delta > 0) {
      const spawn = s.free.slice(0, delta);
      if (spawn.length < delta) {
        records.push({ event: 'CHEAPER_AT_MAX', verbose: false, level: 'info', msg: 'cheaper: every slot already has a worker', fields: { wanted: delta, started: spawn.length, processes: this.opts.processes } });
      }
      if (spawn.length) {
        records.push({ event: 'CHEAPER_SPAWN', verbose: false, level: 'info', msg: 'cheaper: starting workers', fields: { slots: spawn, reason, active, toActive: active + spawn.length, backlog: s.backlog } });
      }
      return { spawn, cheap: [], reason: spawn.length ? reason : '', deferred: 0, records };
    }
    if (delta < 0) {
      let want = -delta;
      const room = Math.max(0, active - this.opts.min);
      if (want > room) {
        if (!room) records.push({ event: 'CHEAPER_AT_MIN', verbose: true, level: 'info', msg: 'cheaper: already at the minimum (cheaper)', fields: { active, cheaper: this.opts.min } });
        want = room;
      }
      const cheap: number[] = [];
      const candidates = [...s.active];
      while (cheap.length < Math.min(want, maxStops)) {
        const v = pickVictim(candidates);
        if (!v) break;
        cheap.push(v.id);
        candidates.splice(candidates.indexOf(v), 1);
      }
      const short = want - cheap.length;
      if (short > 0) {
        this.pending -= short;
        records.push({ event: 'CHEAPER_STOPS_OWED', verbose: true, level: 'info', msg: 'cheaper: stops owed (every other worker busy, or one stop per check); retried at the next check', fields: { owed: short, active } });
      }
      if (cheap.length) {
        records.push({ event: 'CHEAPER_STOP', verbose: false, level: 'info', msg: 'cheaper: stopping workers', fields: { slots: cheap, reason, active, toActive: active - cheap.length, backlog: s.backlog } });
      }
      return { spawn: [], cheap, reason: cheap.length ? reason : '', deferred: this.owed(), records };
    }
    return { spawn: [], cheap: [], reason: '', deferred: this.owed(), records };
  }
}
