// Handler runs (timers, crons, signals) delivered to their target.
//
// A run in a request worker is held on the worker's handle (h.runs) while it runs: harakiri
// applies to it through the supervisor's deadline check, a worker that dies or is killed ends it
// as failed, and a retiring worker waits for it. It runs beside the worker's requests (the
// worker's event loop interleaves them). A run whose worker is not ready waits in `pending`.
// Runs in mules go straight to the mule (mules have no request slots); mule-harakiri bounds them.
import { performance } from 'node:perf_hooks';
import type { Log } from '../log/logger.js';
import type { ServerSettings } from './settings.js';
import type { Supervisor } from './supervisor.js';
import type { HeldRun, WorkerHandle } from './worker-handle.js';
import { STOP } from '../protocol/worker.js';
import { BG, type BgToMaster, type BgToThread, type RunKind, type Target } from '../protocol/background.js';
import type { WireError } from '../protocol/errors.js';

/** One registered timer, cron or signal as the dispatcher sees it. */
export interface Reg {
  kind: RunKind;
  /** name for logs (timer/cron name, or the signal key) */
  name: string;
  /** the handler's name in each thread's registry */
  handler: string;
  target: Target;
  unique: boolean;
  /** runs pending or running */
  active: number;
  runs: number;
  skipped: number;
  failed: number;
}

export function newReg(kind: RunKind, name: string, handler: string, target: Target, unique: boolean): Reg {
  return { kind, name, handler, target, unique, active: 0, runs: 0, skipped: 0, failed: 0 };
}

type Dest = { kind: 'worker'; slot: number } | { kind: 'mule'; ids: number[] };

export interface Run {
  id: number;
  reg: Reg;
  arg: unknown;
  dest: Dest;
  startedAt: number;
  where: string;
  held?: HeldRun;
  h?: WorkerHandle;
}

/** What the dispatcher needs from the mules. */
export interface MuleRunner {
  count(): number;
  farm(name: string): number[] | undefined;
  /** Posts the run to the least loaded live mule of `ids`; false when none is running. */
  deliverRun(run: Run, msg: BgToThread, ids: number[]): boolean;
}

export interface RunsHost {
  settings: ServerSettings;
  log: Log;
  supervisor: Supervisor;
}

const PENDING_CAP = 100;

export class RunDispatcher {
  private readonly pending: Run[] = [];
  readonly running = new Map<number, Run>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly host: RunsHost, private readonly mules: MuleRunner) {}

  /** Fires `reg` once: one run per destination of its target. */
  dispatch(reg: Reg, arg: unknown): void {
    if (this.closed) return;
    const log = this.host.log;
    if (reg.unique && reg.active > 0) {
      reg.skipped++;
      log.warn({ event: 'RUN_SKIPPED', [reg.kind]: reg.name, skipped: reg.skipped }, `${reg.kind} skipped: its previous run is still running (unique)`);
      return;
    }
    const dests = this.destinations(reg);
    if (!dests) return;
    if (reg.active + dests.length > PENDING_CAP) {
      reg.failed++;
      log.error({ event: 'RUN_DROPPED', [reg.kind]: reg.name, waiting: reg.active, target: reg.target }, `${reg.kind} run dropped: ${PENDING_CAP} runs already wait for its target (are the handlers stuck?)`);
      return;
    }
    for (const dest of dests) {
      const run: Run = { id: this.nextId++, reg, arg, dest, startedAt: 0, where: '' };
      reg.active++;
      this.pending.push(run);
    }
    this.pump();
  }

  private destinations(reg: Reg): Dest[] | null {
    const t = reg.target;
    const n = this.host.settings.processes;
    const bad = (why: string): null => {
      reg.failed++;
      this.host.log.error({ event: 'RUN_UNDELIVERABLE', [reg.kind]: reg.name, target: t }, `${reg.kind} ${reg.name} cannot be delivered: ${why}`);
      return null;
    };
    if (t === 'worker' || t === 'worker0' || t === '') return [{ kind: 'worker', slot: 0 }];
    if (t === 'workers') {
      // every started slot (cheaped slots have no worker); a busy one runs it between requests
      const slots = this.host.supervisor.slots.filter((h): h is WorkerHandle => !!h).map((h) => h.slot);
      return slots.length ? slots.map((slot) => ({ kind: 'worker', slot })) : bad('no worker is running');
    }
    if (t === 'active-workers') {
      const live = this.host.supervisor.routable().map((h) => h.slot);
      return live.length ? live.map((slot) => ({ kind: 'worker', slot })) : bad('no worker is running');
    }
    let m = /^worker(\d+)$/.exec(t);
    if (m) {
      const slot = Number(m[1]);
      return slot >= 1 && slot <= n ? [{ kind: 'worker', slot }] : bad(`there is no worker ${slot} (1..${n})`);
    }
    const mules = this.mules.count();
    if (t === 'mule' || t === 'mule0') return mules ? [{ kind: 'mule', ids: range(mules) }] : bad('no mules are configured');
    if (t === 'mules') return mules ? range(mules).map((id) => ({ kind: 'mule', ids: [id] })) : bad('no mules are configured');
    m = /^mule(\d+)$/.exec(t);
    if (m) {
      const id = Number(m[1]);
      return id >= 1 && id <= mules ? [{ kind: 'mule', ids: [id] }] : bad(`there is no mule ${id} (mules: ${mules})`);
    }
    m = /^farm:(.+)$/.exec(t);
    if (m) {
      const ids = this.mules.farm(m[1]!);
      return ids ? [{ kind: 'mule', ids }] : bad(`there is no farm '${m[1]}'`);
    }
    return bad('unknown target');
  }

  /** Dispatches waiting runs to ready workers and running mules. */
  pump(): void {
    if (!this.pending.length) return;
    for (let i = 0; i < this.pending.length;) {
      const run = this.pending[i]!;
      if (this.deliver(run)) this.pending.splice(i, 1);
      else i++;
    }
  }

  private message(run: Run): BgToThread {
    const arg = run.reg.kind === 'signal' ? (/^\d+$/.test(run.reg.name) ? Number(run.reg.name) : run.reg.name) : run.arg;
    return { op: 'run', runId: run.id, kind: run.reg.kind, name: run.reg.handler, arg };
  }

  private deliver(run: Run): boolean {
    if (run.dest.kind === 'mule') {
      if (!this.mules.deliverRun(run, this.message(run), run.dest.ids)) return false;
      run.startedAt = performance.now();
      this.running.set(run.id, run);
      this.host.log.debug({ event: 'RUN_STARTED', [run.reg.kind]: run.reg.name, where: run.where }, `${run.reg.kind} run started`);
      return true;
    }
    const h = this.freeWorker(run.dest.slot);
    if (!h) return false;
    const now = performance.now();
    run.startedAt = now;
    run.h = h;
    run.where = `worker${h.slot}`;
    run.held = this.hold(run, now);
    h.runs.set(run.id, run.held);
    this.running.set(run.id, run);
    h.thread.postMessage([BG, this.message(run)]);
    this.host.log.debug({ event: 'RUN_STARTED', [run.reg.kind]: run.reg.name, where: run.where }, `${run.reg.kind} run started`);
    return true;
  }

  /** The worker of `slot` if it is ready; for slot 0 the ready worker with the fewest requests in flight. */
  private freeWorker(slot: number): WorkerHandle | null {
    const ready = (h: WorkerHandle | null | undefined): h is WorkerHandle => !!h && h.state === 'ready';
    const slots = this.host.supervisor.slots;
    if (slot > 0) return ready(slots[slot]) ? slots[slot]! : null;
    let best: WorkerHandle | null = null;
    for (const h of slots) {
      if (ready(h) && (!best || h.requestsInFlight < best.requestsInFlight)) best = h;
    }
    return best;
  }

  /** What the worker's handle holds while the run runs: ending it (harakiri, death, shutdown) fails the run. */
  private hold(run: Run, now: number): HeldRun {
    const harakiri = this.host.settings.harakiriMs;
    return {
      id: run.id,
      label: `${run.reg.kind}:${run.reg.name}`,
      startedAt: now,
      deadline: harakiri > 0 ? now + harakiri : 0,
      end: (why) => this.finish(run, false, { name: 'Error', message: `ended by the master (${why})` }),
    };
  }

  /** A thread reported the end of a run. */
  done(m: Extract<BgToMaster, { op: 'done' }>, from: string): void {
    const run = this.running.get(m.runId);
    if (!run) return;
    if (m.missing) {
      this.finish(run, false, undefined);
      this.host.log.error({ event: 'RUN_LOST', [run.reg.kind]: run.reg.name, where: from, target: run.reg.target },
        `${run.reg.kind} ${run.reg.name}: ${from} has no handler for it (registered in another thread only?); run lost`);
      return;
    }
    this.finish(run, m.ok, m.ok ? undefined : m.error);
  }

  /** A run is over (done, failed, or its thread died). */
  finish(run: Run, ok: boolean, error: WireError | undefined): void {
    if (!this.running.delete(run.id)) return;
    run.reg.active--;
    run.reg.runs++;
    const ms = Math.round(performance.now() - run.startedAt);
    const h = run.h;
    if (h && run.held && h.runs.get(run.id) === run.held) {
      h.runs.delete(run.id);
      if (h.state === 'retiring' && h.runs.size === 0) h.thread.postMessage([STOP]);
    }
    if (ok) {
      this.host.log.debug({ event: 'RUN_DONE', [run.reg.kind]: run.reg.name, where: run.where, ms }, `${run.reg.kind} run done`);
    } else {
      run.reg.failed++;
      if (error !== undefined) {
        this.host.log.error({ event: 'RUN_FAILED', [run.reg.kind]: run.reg.name, where: run.where, ms, err: error }, `${run.reg.kind} handler failed`);
      }
    }

  }

  /** Shutdown: waiting runs are dropped (logged). */
  close(): void {
    this.closed = true;
    for (const run of this.pending.splice(0)) {
      run.reg.active--;
      this.host.log.warn({ event: 'RUN_DROPPED', [run.reg.kind]: run.reg.name, target: run.reg.target }, `${run.reg.kind} run dropped: the server is shutting down`);
    }
  }
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
