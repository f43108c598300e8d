// The master: binds the listening sockets the workers accept on, supervises the workers, and
// runs the 100 ms cycle that drives harakiri, recycling and scaling. It is never on a request's
// path: the workers accept, serve and log their requests, and report them in batches.
//
// This file wires the parts together and orders start-up; each part is its own module: where the
// server listens (server-listeners.ts), the worker slots (supervisor.ts) and their accepting
// (accept-workers.ts), what threads report (thread-events.ts), the cycle (cycle.ts), need-app off
// (no-app.ts), shutdown (shutdown.ts), the stats (stats.ts, stats-views.ts), full reload
// (full-reload/, which drives this server through RecyclableServer).
import { SpindleError, SpindleRangeError } from '../errors.js';
import type { Log } from '../log/logger.js';
import { OwnedFiles, type OwnedSocket } from './owned-files.js';
import type { ServerSettings } from './settings.js';
import { Supervisor } from './supervisor.js';
import { RequestObserver, buildStats, type ServerObservation, type StatsDocument } from './stats.js';
import { serverStats, type ServerStats } from './stats-views.js';
import { Scaler, type ScaleResult } from './scaler.js';
import { MasterFifo } from './fifo.js';
import { createSharedCore, type SharedCore } from '../shm/layout.js';
import { installSharedCore } from '../api/runtime.js';
import { AppLoadFailure } from './worker-handle.js';
import { Background } from './background.js';
import { WorkerAccept } from './accept-workers.js';
import { CacheStores } from './cache-stores.js';
import type { SharedSocket } from './shared-sockets.js';
import type { HandoverClient } from './full-reload/take-over.js';
import type { ParentLink } from './parent-link.js';
import type { WorkerBoot } from '../protocol/worker.js';
import { DEFAULT_LISTENER, ServerListeners, listenerSpecs } from './server-listeners.js';
import { releaseDeadThread, routeControl, type ControlTargets } from './thread-events.js';
import { MasterCycle } from './cycle.js';
import { MissingApp } from './no-app.js';
import { Shutdown } from './shutdown.js';

export interface ServerOptions {
  settings: ServerSettings;
  log: Log;
  logFormat: 'json' | 'pretty';
  /** logto: the log file's descriptor, for the workers' and mules' loggers; default stdout. */
  logFd?: number;
  /** Started by a full reload: take the listening sockets from the previous process. */
  handover?: HandoverClient;
  /** The supervising parent, if any: the pidfile names it (it forwards signals); it copies descriptors. */
  parent?: ParentLink;
}

export class SpindleServer {
  readonly settings: ServerSettings;
  readonly log: Log;
  readonly supervisor: Supervisor;
  /** Caches, locks, counters and the scoreboard, shared with every worker. */
  readonly core: SharedCore;
  /** The listening sockets, accepted on by the workers themselves. */
  private readonly workerAccept: WorkerAccept;
  /** The shared sockets and the stats server. */
  private readonly listeners: ServerListeners;
  /** cache2 `store` files (src/master/cache-stores.ts). */
  readonly cacheStores: CacheStores;
  /** Full reload, old side: the listeners the new process took over (never vacuumed here). */
  private handedOver: ReadonlySet<OwnedSocket> | null = null;
  private readonly cycle: MasterCycle;
  /** need-app = false: why the app did not load, and the 503 stand-in meanwhile. */
  private readonly noApp: MissingApp;
  private readonly shutdown: Shutdown;
  private readonly files: OwnedFiles;
  private readonly startedAt = Date.now();
  requestsTotal = 0;
  /** Status classes, latency histogram and percentiles of finished requests (stats, /metrics). */
  readonly observer = new RequestObserver();
  /** Adaptive worker count (cheaper); null when cheaper = 0. */
  readonly scaler: Scaler | null = null;
  private fifo: MasterFifo | null = null;
  /** Timers, crons, signals, mules and offload (stats: background.stats()). */
  readonly background: Background;
  /** Where a worker's CONTROL messages go (src/master/thread-events.ts). */
  private readonly controlTargets: ControlTargets;
  /** Settles when start()'s steps have finished or stopped early: a shutdown cleans up after that. */
  private startSettled: Promise<void> = Promise.resolve();

  get parent(): ParentLink | undefined { return this.opts.parent; }

  constructor(private readonly opts: ServerOptions) {
    this.settings = opts.settings;
    this.log = opts.log;
    this.workerAccept = new WorkerAccept(this);
    this.files = new OwnedFiles(this.settings.pidfile, opts.parent?.parentPid ?? process.pid, this.log);
    this.listeners = new ServerListeners(this.workerAccept, this, this.settings, this.log, this.files);
    this.core = createSharedCore({ ...this.settings.shm, workerSlots: this.settings.processes, muleSlots: this.settings.background.mules.length });
    this.cacheStores = new CacheStores(this.core, this.log);
    this.supervisor = new Supervisor(this.settings, {
      log: this.log,
      onWorkerMessage: (h, m) => routeControl(this.controlTargets, h, m),
      pump: () => this.background.pump(),
      workerReady: (h) => void this.workerAccept.give(h),
      ownRequestsLost: (n) => this.workerAccept.lost(n),
      onThreadExit: (threadId) => releaseDeadThread(this.core, this.log, threadId),
    }, (slot) => this.bootFor(slot), this.core.scoreboard);
    this.background = new Background({ settings: this.settings, log: this.log, supervisor: this.supervisor, core: this.core, logFormat: opts.logFormat, logFd: opts.logFd });
    this.controlTargets = { log: this.log, accept: this.workerAccept, background: this.background };
    if (this.settings.cheaper) this.scaler = new Scaler(this.settings.cheaper, this.supervisor, this.log, () => this.workerAccept.kernelBacklog());
    this.noApp = new MissingApp(this, this.workerAccept);
    this.cycle = new MasterCycle({ supervisor: this.supervisor, mules: this.background.mules, scaler: this.scaler, core: this.core, shuttingDown: () => this.shutdown.started });
    this.shutdown = new Shutdown({
      log: this.log,
      supervisor: this.supervisor,
      background: this.background,
      stopCommands: () => this.fifo?.close(),
      afterDrain: async () => {
        // A stop during start-up: what start() is still creating (a bind, the stats server) must
        // exist before it is closed; start() creates nothing once the shutdown has begun.
        await this.startSettled;
        this.cycle.stop();
        await this.listeners.close();
        if (!this.handedOver) await this.cacheStores.saveAtExit();
        this.listeners.vacuum(this.handedOver);
        this.log.info({ event: 'STOPPED', uptimeS: Math.round((Date.now() - this.startedAt) / 1000) }, 'spindle stopped');
      },
    });
  }

  /** Bound addresses, e.g. 'http://127.0.0.1:8000', 'unix:/run/app.sock'. */
  get addresses(): string[] {
    return this.sharedSocketList.map((l) => l.url);
  }

  private bootFor(slot: number): WorkerBoot {
    return {
      workerId: slot,
      appPath: this.settings.appPath,
      ...(this.settings.appExport ? { appExport: this.settings.appExport } : {}),
      concurrency: this.settings.concurrency,
      threadName: this.settings.names.workerThread(slot),
      logLevel: this.settings.logLevel,
      logFormat: this.opts.logFormat,
      ...(this.opts.logFd !== undefined ? { logFd: this.opts.logFd } : {}),
      shared: this.core.handle,
      ownHttp: this.workerAccept.bootSettings(),
    };
  }

  /**
   * Loads the app in every worker, then listens. With need-app (the default) an app that does not
   * load is an AppLoadFailure before anything listens; without it the server listens and answers
   * 503 until a reload loads the app. A shutdown requested meanwhile (a SIGTERM while the app
   * loads) stops it at its next step: it then returns, and the shutdown completes.
   */
  async start(): Promise<void> {
    const steps = this.startSteps();
    this.startSettled = steps.then(() => undefined, () => undefined);
    try {
      await steps;
    } catch (err) {
      if (!(err instanceof StartFailure)) throw err;
      await this.close({ graceful: false }); // after the steps settled: the shutdown waits for them
      throw err.cause;
    }
  }

  private async startSteps(): Promise<void> {
    this.files.checkPidfile();
    if (this.settings.names.master) process.title = this.settings.names.master;
    if (this.settings.chdir) process.chdir(this.settings.chdir);
    installSharedCore(this.core); // the runtime API works in the master too
    const mem = this.core.memoryReport();
    if (mem.caches.length) this.log.info({ event: 'SHARED_MEMORY', caches: mem.caches, totalBytes: mem.total }, 'shared memory allocated');
    for (const [key, value] of this.settings.env) process.env[key] = value; // workers copy it at spawn
    if (!this.opts.handover) await this.cacheStores.restore(); // full reload: when the sockets arrive
    const { specs, defaulted } = listenerSpecs(this.settings);
    // Every address is bound before a worker starts: a taken port fails at once, before the app
    // loads. (A full reload's new process takes its sockets over once its app has loaded.)
    const bindFirst = !this.opts.handover;
    if (this.shutdown.started) return;
    if (bindFirst) await this.listeners.bindBeforeWorkers(specs);
    if (this.shutdown.started) return;
    try {
      await this.supervisor.startAll();
    } catch (err) {
      if (this.shutdown.started) return; // the workers were ended by the shutdown, not by the app
      // a full reload never replaces a working process by one without its app, need-app or not
      if (this.settings.needApp || this.opts.handover || !(err instanceof AppLoadFailure)) {
        if (bindFirst) await this.listeners.release();
        throw err;
      }
      this.noApp.failed(err);
    }
    if (this.shutdown.started) return;
    this.background.start();
    const handover = this.opts.handover;
    if (handover) {
      await handover.receive();
      await this.cacheStores.restore(); // the snapshot the old process wrote right before the handover
      if (this.shutdown.started) return;
    }
    if (defaulted) this.log.info({ event: 'DEFAULT_LISTENER', address: DEFAULT_LISTENER }, 'no http-socket given: listening on 127.0.0.1:8000');
    try {
      if (handover) await this.listeners.takeOver(specs, (kind, spec) => handover.take(kind, spec));
      await this.noApp.standIn();
      await handover?.adopted(this.sharedSocketList);
    } catch (err) {
      throw new StartFailure(err instanceof SpindleError ? err : new SpindleError('LISTEN_FAILED', `cannot listen: ${(err as Error).message}`, { cause: err }));
    }
    if (this.shutdown.started) return;
    try {
      this.files.writePidfile();
    } catch (err) {
      throw new StartFailure(err);
    }
    this.cacheStores.startSync();
    if (this.settings.masterFifo) {
      try {
        this.fifo = MasterFifo.open(this.settings.masterFifo, this, this.log);
      } catch (err) {
        throw new StartFailure(err);
      }
    }
    if (this.settings.stats && !bindFirst) {
      try {
        await this.listeners.listenStats();
      } catch (err) {
        throw new StartFailure(err);
      }
      if (this.shutdown.started) return;
    }
    this.cycle.start();
    const statsUrl = this.listeners.statsUrl;
    this.log.info({ event: 'SERVING', addresses: this.addresses, ...(statsUrl !== undefined ? { stats: statsUrl } : {}), workers: this.supervisor.routable().length, maxWorkers: this.settings.processes, concurrency: this.settings.concurrency, app: this.settings.appPath }, 'spindle is serving');
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Chain reload: every worker replaced by one that loads the app afresh, one at a time. */
  async reload(): Promise<boolean> {
    if (this.shutdown.started) return false;
    if (this.noApp.error) return this.noApp.reload();
    return this.supervisor.reload();
  }

  /**
   * Stops accepting, then either lets in-flight and waiting requests finish (graceful, bounded by
   * worker-reload-mercy) or answers them 503 at once; removes what vacuum should remove.
   */
  close(opts: { graceful: boolean }): Promise<void> {
    return this.shutdown.close(opts.graceful);
  }

  /** The listening sockets (full reload hands their keepers to the new process). */
  get sharedSocketList(): readonly SharedSocket[] {
    return this.listeners.sockets;
  }

  /** Full reload: the new process binds the stats address next. */
  releaseStatsServer(): Promise<void> {
    return this.listeners.releaseStatsServer();
  }

  /** Calls `listener` when this server begins shutting down; returns what unsubscribes it. */
  onShutdownStart(listener: () => void): () => void {
    return this.shutdown.onStart(listener);
  }

  /** Full reload failed after the stats address was released: serve stats here again. */
  reclaimStatsServer(): Promise<Error | null> {
    return this.listeners.reclaimStatsServer();
  }

  /** Full reload, old side: these sockets and the pidfile belong to the new process now. */
  handOver(keep: readonly OwnedSocket[]): void {
    this.handedOver = new Set(keep);
  }

  /**
   * Manual scaling (cheaper): +N starts up to N workers in the lowest cheap slots, −N stops up to
   * N idle workers gracefully (never below `cheaper`; stops that find every worker busy are retried
   * at the next checks). Throws SERVER_STATE when cheaper is off.
   */
  scale(delta: number): ScaleResult {
    if (!this.scaler) throw new SpindleError('SERVER_STATE', 'scale() needs adaptive scaling: set cheaper (the minimum number of workers) below processes');
    if (!Number.isInteger(delta)) throw new SpindleRangeError('INVALID_ARGUMENT', `scale(${String(delta)}): the delta must be a whole number of workers`);
    return this.scaler.scale(delta);
  }

  /** The master FIFO's + and -. */
  scaleFromFifo(delta: number): void {
    if (!this.scaler) {
      this.log.warn({ event: 'FIFO_SCALE_IGNORED', delta }, 'master-fifo: + and - need adaptive scaling (cheaper > 0); ignored');
      return;
    }
    this.log.info({ event: 'FIFO_COMMAND', delta }, 'master-fifo: scale requested');
    this.scaler.scale(delta);
  }

  // ---- stats -------------------------------------------------------------------------------

  /** The facts the stats document is built from (src/master/stats.ts). */
  observation(): ServerObservation {
    return {
      backlog: this.workerAccept.kernelBacklog(),
      backlogLimit: this.settings.backlogLimit,
      listeners: this.sharedSocketList.map((l) => ({ spec: l.spec, url: l.url })),
      serving: this.cycle.running,
      shuttingDown: this.shutdown.started,
      appError: this.noApp.error,
      startedAt: this.startedAt,
      requestsTotal: this.requestsTotal,
      mules: this.background.muleStats(),
    };
  }

  /** The uWSGI-compatible stats document (what `stats ADDR` serves and SIGUSR1 logs). */
  statsDocument(): StatsDocument {
    return buildStats(this);
  }

  /** What start()'s RunningServer.stats() returns (src/master/stats-views.ts). */
  stats(): ServerStats {
    return serverStats(this, this.workerAccept.kernelBacklog());
  }
}

/** A start-up step failed once the server had begun to run: start() closes it, then throws `cause`. */
class StartFailure {
  constructor(readonly cause: unknown) {}
}
