// uWSGI's other cheaper algorithms (core/master_utils.c): spare, backlog and manual.
import type { Algorithm, AlgoResult, CheaperOptions, Snapshot } from './types.js';

/**
 * spare: each check, all active workers busy → overload count +1 (idle count reset); at least one
 * idle → overload count −1 (floor 0). Over `cheaper-overload` → spawn up to `cheaper-step`. At an
 * overload count of 0: exactly one idle worker is the stable state; otherwise the idle count
 * grows and every `cheaper-overload` idle checks one worker is stopped (while above `cheaper`).
 */
export class Spare implements Algorithm {
  readonly name = 'spare' as const;
  overloadCount = 0;
  idleCount = 0;

  constructor(private readonly opts: CheaperOptions) {}

  decide(s: Snapshot, _now: number, canSpawn: boolean): AlgoResult {
    const active = s.active.length;
    const busy = s.active.filter((w) => w.busy).length;
    if (busy < active) {
      if (this.overloadCount > 0) this.overloadCount--;
    } else {
      this.overloadCount++;
      this.idleCount = 0;
    }
    const numbers = { active, busy, overloadCount: this.overloadCount, idleCount: this.idleCount, overload: this.opts.overload };
    if (canSpawn && this.overloadCount > this.opts.overload) {
      const n = Math.min(this.opts.step, s.free.length);
      this.overloadCount = 0;
      return {
        delta: n,
        reason: n ? `spare: every worker busy for more than ${this.opts.overload} checks` : '',
        records: [{ event: 'CHEAPER_CHECK', verbose: n > 0, level: 'info', msg: n ? 'spare: overloaded' : 'spare: overloaded but every worker is already running', fields: numbers }],
      };
    }
    if (this.overloadCount === 0) {
      if (active > busy && active - busy === 1) {
        return { delta: 0, reason: '', records: [{ event: 'CHEAPER_CHECK', verbose: true, level: 'info', msg: 'spare: stable, one spare worker', fields: numbers }] };
      }
      this.idleCount++;
      if (active > this.opts.min && this.idleCount % this.opts.overload === 0) {
        return {
          delta: -1,
          reason: `spare: ${active - busy} idle workers for ${this.opts.overload} checks`,
          records: [{ event: 'CHEAPER_CHECK', verbose: true, level: 'info', msg: 'spare: too many idle workers', fields: { ...numbers, idleCount: this.idleCount } }],
        };
      }
    }
    return { delta: 0, reason: '', records: [{ event: 'CHEAPER_CHECK', verbose: true, level: 'info', msg: 'spare: check', fields: { ...numbers, idleCount: this.idleCount } }] };
  }
}

/**
 * backlog: more requests waiting than `cheaper-overload` → spawn up to `cheaper-step`; fewer →
 * stop one worker per check while above `cheaper`; equal → nothing. The backlog is the
 * kernel's accept queue of the TCP listening sockets (src/master/kernel-backlog.ts).
 */
export class BacklogAlgo implements Algorithm {
  readonly name = 'backlog' as const;

  constructor(private readonly opts: CheaperOptions) {}

  decide(s: Snapshot, _now: number, canSpawn: boolean): AlgoResult {
    const active = s.active.length;
    const fields = { backlog: s.backlog, threshold: this.opts.overload, active };
    if (canSpawn && s.backlog > this.opts.overload) {
      const n = Math.min(this.opts.step, s.free.length);
      return {
        delta: n,
        reason: n ? `backlog ${s.backlog} above cheaper-overload ${this.opts.overload}` : '',
        records: [{ event: 'CHEAPER_CHECK', verbose: true, level: 'info', msg: n ? 'backlog: queue above threshold' : 'backlog: queue above threshold but every worker is already running', fields }],
      };
    }
    if (s.backlog < this.opts.overload && active > this.opts.min) {
      return {
        delta: -1,
        reason: `backlog ${s.backlog} below cheaper-overload ${this.opts.overload}`,
        records: [{ event: 'CHEAPER_CHECK', verbose: true, level: 'info', msg: 'backlog: queue below threshold', fields }],
      };
    }
    return { delta: 0, reason: '', records: [{ event: 'CHEAPER_CHECK', verbose: true, level: 'info', msg: 'backlog: check', fields }] };
  }
}

/** manual: never decides; the count changes only through scale() / the master FIFO (+ and -). */
export class Manual implements Algorithm {
  readonly name = 'manual' as const;
  decide(): AlgoResult {
    return { delta: 0, reason: '', records: [] };
  }
}
