// Background work inside the server: timers and crons registered by the app, signals, command
// crons from the config, mules and the offload pool. The server owns one Background and calls it
// from a few hooks: control messages from workers, pump (a worker became ready: waiting handler
// runs go to it), start, and shutdown (stop scheduling; then drain the mules after the workers).
import type { Log } from '../log/logger.js';
import { SpindleError } from '../errors.js';
import type { SharedCore } from '../shm/layout.js';
import type { ServerSettings } from './settings.js';
import type { Supervisor } from './supervisor.js';
import type { WorkerHandle } from './worker-handle.js';
import { BG, type BgToMaster, type BgToThread } from '../protocol/background.js';
import { cronClock, type CronClock } from './clock.js';
import { RunDispatcher } from './runs.js';
import { Timers } from './timers.js';
import { Signals } from './signals.js';
import { CommandCrons } from './crons.js';
import { Mules, type MuleStats } from './mules.js';
import { OffloadPool } from './offload.js';

export interface BackgroundHost {
  settings: ServerSettings;
  log: Log;
  supervisor: Supervisor;
  core: SharedCore;
  logFormat: 'json' | 'pretty';
  /** logto's descriptor (see WorkerBoot.logFd) */
  logFd?: number;
}

export interface BackgroundStats {
  timers: { name: string; ms: number; target: string; unique: boolean; ticks: number; runs: number; skipped: number; failed: number }[];
  crons: { name: string; spec: string; target: string; unique: boolean; runs: number; skipped: number; failed: number }[];
  signals: { raised: number; unrouted: number; registered: { signal: string; target: string; runs: number; failed: number }[] };
  mules: MuleStats[];
  offload: ReturnType<OffloadPool['stats']>;
}

export class Background {
  readonly clock: CronClock;
  readonly runs: RunDispatcher;
  readonly timers: Timers;
  readonly signals: Signals;
  readonly commandCrons: CommandCrons;
  readonly mules: Mules;
  readonly offload: OffloadPool;
  private started = false;

  constructor(private readonly host: BackgroundHost) {
    const b = host.settings.background;
    for (const f of b.farms) {
      const bad = f.mules.find((id) => id > b.mules.length);
      if (bad !== undefined) {
        throw new SpindleError('CONFIG_CONFLICT', `farm '${f.name}' names mule ${bad}, but there are ${b.mules.length} mules (add mule = … or mules = N)`);
      }
    }
    this.clock = cronClock();
    this.mules = new Mules({
      log: host.log,
      board: host.core.scoreboard,
      boot: { appPath: host.settings.appPath, logLevel: host.settings.logLevel, logFormat: host.logFormat, logFd: host.logFd, shared: host.core.handle },
      heapLimitMb: host.settings.heapLimitMb,
      muleThreadName: host.settings.names.muleThread,
      queueLimit: b.muleQueue,
      harakiriMs: b.muleHarakiriMs,
      mercyMs: host.settings.mercyMs,
      onControl: (id, m) => this.onControl(`mule${id}`, (msg) => this.mules.postTo(id, msg), m),
      failRuns: (ids, reason) => {
        for (const id of ids) {
          const run = this.runs.running.get(id);
          if (run) this.runs.finish(run, false, { name: 'Error', message: reason });
        }
      },
      onMuleReady: () => this.runs.pump(),
    }, b.mules, b.farms);
    this.runs = new RunDispatcher({ settings: host.settings, log: host.log, supervisor: host.supervisor }, this.mules);
    this.commandCrons = new CommandCrons(b.commandCrons, b.cronHarakiriMs, host.log);
    this.timers = new Timers(host.log, this.runs, this.clock, (now) => this.commandCrons.check(now));
    this.signals = new Signals(host.log, this.runs);
    this.offload = new OffloadPool(b.offloadThreads, host.settings.harakiriMs, host.core.handle, host.log);
  }

  /** After the workers are up: mules, the cron clock, config timers. */
  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.clock.test) this.host.log.warn({ event: 'TEST_CLOCK', TEST_ONLY_SPINDLE_CRON_CLOCK: this.clock.test }, 'TEST ONLY: crons follow a simulated clock (TEST_ONLY_SPINDLE_CRON_CLOCK is set)');
    this.mules.start();
    for (const t of this.host.settings.background.signalTimers) {
      const key = String(t.signal);
      this.timers.signalTimer(t.seconds, () => this.signals.raise(key, 'timer'));
    }
    this.timers.start();
    if (this.commandCrons.size) this.host.log.info({ event: 'CRONS_SCHEDULED', crons: this.commandCrons.size }, 'command crons scheduled');
  }

  /** A CONTROL {kind: 'bg'} message from a request worker. */
  onWorkerControl(h: WorkerHandle, m: BgToMaster): void {
    this.onControl(`worker${h.slot}`, (msg) => {
      try { h.thread.postMessage([BG, msg]); } catch { /* the thread is gone */ }
    }, m);
  }

  private onControl(from: string, reply: (m: BgToThread) => void, m: BgToMaster): void {
    switch (m.op) {
      case 'timer': this.timers.registerTimer(m.name, m.ms, m.target, m.unique, from); return;
      case 'cron': this.timers.registerCron(m.name, m.spec, m.target, m.unique, from); return;
      case 'signal-reg': this.signals.register(m.key, m.target, from); return;
      case 'signal': this.signals.raise(m.key, from); return;
      case 'done': this.runs.done(m, from); return;
      case 'mule-msg': {
        const r = this.mules.enqueue(m.item, m.target);
        if (typeof r === 'string') reply({ op: 'reply', callId: m.callId, ok: false, error: { name: 'SpindleError', code: 'TARGET_INVALID', message: `muleMsg(): ${r}` } });
        else reply({ op: 'reply', callId: m.callId, ok: true, value: r });
        return;
      }
      case 'offload':
        void this.offload.run(m.task, m.args, m.timeoutMs).then((r) => {
          if (r.ok) reply({ op: 'reply', callId: m.callId, ok: true, value: r.value });
          else reply({ op: 'reply', callId: m.callId, ok: false, error: r.error });
        });
        return;
      default:
        this.host.log.warn({ event: 'BACKGROUND_UNEXPECTED', from, op: m.op }, 'unexpected background message');
    }
  }

  /** A worker became ready: waiting handler runs go to it. */
  pump(): void {
    this.runs.pump();
  }

  /** Shutdown begins: no more timer, cron or signal runs. */
  stopScheduling(): void {
    this.timers.stop();
    this.commandCrons.close();
    this.runs.close();
  }

  /** After the workers are done: drain (graceful) or stop the mules, close the offload pool. */
  async close(graceful: boolean): Promise<void> {
    this.stopScheduling();
    await this.mules.close(graceful);
    await this.offload.close();
  }

  muleStats(): MuleStats[] {
    return this.mules.stats();
  }

  stats(): BackgroundStats {
    return {
      timers: [...this.timers.timers.values()].map((t) => ({ name: t.reg.name, ms: t.ms, target: t.reg.target, unique: t.reg.unique, ticks: t.tick, runs: t.reg.runs, skipped: t.reg.skipped, failed: t.reg.failed })),
      crons: [...this.timers.crons.values()].map((c) => ({ name: c.reg.name, spec: c.spec, target: c.reg.target, unique: c.reg.unique, runs: c.reg.runs, skipped: c.reg.skipped, failed: c.reg.failed })),
      signals: {
        raised: this.signals.raised, unrouted: this.signals.unrouted,
        registered: [...this.signals.table.entries()].map(([k, e]) => ({ signal: k, target: e.reg.target, runs: e.reg.runs, failed: e.reg.failed })),
      },
      mules: this.muleStats(),
      offload: this.offload.stats(),
    };
  }
}
