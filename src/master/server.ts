// The master: binds the listening sockets the workers accept on, supervises the workers, and
// runs the 100 ms cycle that drives harakiri, recycling and scaling. It is never on a request's
// path: the workers accept, serve and log their requests, and report them in batches.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { SpindleError, SpindleRangeError } from '../errors.js';
import type { Log } from '../log/logger.js';
import { firstLine } from '../front/response-messages.js';
import { OwnedFiles, type OwnedSocket } from './owned-files.js';
import type { ServerSettings } from './settings.js';
import { Supervisor } from './supervisor.js';
import { RequestObserver, buildStats, type ServerObservation, type StatsDocument } from './stats.js';
import { StatsServer } from './stats-server.js';
import { Scaler, type ScaleResult, type CheaperStats } from './scaler.js';
import { MasterFifo } from './fifo.js';
import { createSharedCore, type SharedCore } from '../shm/layout.js';
import { installSharedCore } from '../api/runtime.js';
import { AppLoadFailure, type WorkerHandle } from './worker-handle.js';
import { warnOtherCopy } from './package-copies.js';
import { Background } from './background.js';
import { WorkerAccept } from './accept-workers.js';
import { CacheStores } from './cache-stores.js';
import type { SharedSocket } from './shared-sockets.js';
import type { HandoverClient } from './full-reload/take-over.js';
import type { ParentLink } from './parent-link.js';
import { CONTROL, type WorkerBoot, type WorkerMessage } from '../protocol/worker.js';

const DEFAULT_LISTENER = '127.0.0.1:8000';
const TICK_MS = 100;

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
  /** cache2 `store` files (src/master/cache-stores.ts). */
  readonly cacheStores: CacheStores;
  /** Full reload, old side: the listeners the new process took over (never vacuumed here). */
  private handedOver: ReadonlySet<OwnedSocket> | null = null;
  private tickTimer?: NodeJS.Timeout;
  private appError = '';
  private closing: Promise<void> | null = null;
  private readonly files: OwnedFiles;
  private readonly startedAt = Date.now();
  requestsTotal = 0;
  /** Status classes, latency histogram and percentiles of finished requests (stats, /metrics). */
  readonly observer = new RequestObserver();
  private statsServer: StatsServer | null = null;
  /** Adaptive worker count (cheaper); null when cheaper = 0. */
  readonly scaler: Scaler | null = null;
  private fifo: MasterFifo | null = null;
  /** Timers, crons, signals, mules and offload (stats: background.stats()). */
  readonly background: Background;

  get parent(): ParentLink | undefined { return this.opts.parent; }

  constructor(private readonly opts: ServerOptions) {
    this.settings = opts.settings;
    this.log = opts.log;
    this.workerAccept = new WorkerAccept(this);
    this.files = new OwnedFiles(this.settings.pidfile, opts.parent?.parentPid ?? process.pid, this.log);
    this.core = createSharedCore({ ...this.settings.shm, workerSlots: this.settings.processes, muleSlots: this.settings.background.mules.length });
    this.cacheStores = new CacheStores(this.core, this.log);
    this.supervisor = new Supervisor(this.settings, {
      log: this.log,
      onWorkerMessage: (h, m) => this.onWorkerMessage(h, m),
      pump: () => this.background.pump(),
      workerReady: (h) => void this.workerAccept.give(h),
      ownRequestsLost: (n) => this.workerAccept.lost(n),
      onThreadExit: (threadId) => this.onThreadExit(threadId),
    }, (slot) => this.bootFor(slot), this.core.scoreboard);
    this.background = new Background({ settings: this.settings, log: this.log, supervisor: this.supervisor, core: this.core, logFormat: opts.logFormat, logFd: opts.logFd });
    if (this.settings.cheaper) this.scaler = new Scaler(this.settings.cheaper, this.supervisor, this.log, () => this.workerAccept.kernelBacklog());
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

  /** A thread died: release the locks it held, repair what it was writing (robust locks). */
  private onThreadExit(threadId: number): void {
    const report = this.core.onThreadExit(threadId);
    if (report.locks.length || report.caches.length || report.counterTable) {
      this.log.warn({ event: 'LOCKS_RELEASED', threadId, locks: report.locks, caches: report.caches }, 'a dead thread held shared locks: released; the next owner is told the data may be inconsistent');
    }
  }

  /**
   * Loads the app in every worker, then listens. With need-app (the default) an app that does not
   * load is an AppLoadFailure before anything listens; without it the server listens and answers
   * 503 until a reload loads the app.
   */
  async start(): Promise<void> {
    if (this.settings.names.master) process.title = this.settings.names.master;
    if (this.settings.chdir) process.chdir(this.settings.chdir);
    installSharedCore(this.core); // the runtime API works in the master too
    const mem = this.core.memoryReport();
    if (mem.caches.length) this.log.info({ event: 'SHARED_MEMORY', caches: mem.caches, totalBytes: mem.total }, 'shared memory allocated');
    for (const [key, value] of this.settings.env) process.env[key] = value; // workers copy it at spawn
    if (!this.opts.handover) await this.cacheStores.restore(); // full reload: when the sockets arrive
    const anyListener = this.settings.listeners.length + this.settings.uwsgiListeners.length > 0;
    const specs = anyListener ? this.settings.listeners : [DEFAULT_LISTENER];
    const sharedSpecs = [
      ...specs.map((spec) => ({ kind: 'http' as const, spec })),
      ...this.settings.uwsgiListeners.map((spec) => ({ kind: 'uwsgi' as const, spec })),
    ];
    // Every address is bound before a worker starts: a taken port fails at once, before the app
    // loads. (A full reload's new process takes its sockets over once its app has loaded.)
    const bindFirst = !this.opts.handover;
    if (bindFirst) await this.bindBeforeWorkers(sharedSpecs);
    try {
      await this.supervisor.startAll();
    } catch (err) {
      // a full reload never replaces a working process by one without its app, need-app or not
      if (this.settings.needApp || this.opts.handover || !(err instanceof AppLoadFailure)) {
        if (bindFirst) await this.releaseSockets();
        throw err;
      }
      this.appError = err.detail;
      this.log.error({ event: 'NO_APP', err: { message: err.detail, stack: err.detail } }, 'no app loaded (need-app is off): answering 503 until a reload loads it');
    }
    this.background.start();
    const handover = this.opts.handover;
    if (handover) {
      await handover.receive();
      await this.cacheStores.restore(); // the snapshot the old process wrote right before the handover
    }
    if (!anyListener) this.log.info({ event: 'DEFAULT_LISTENER', address: DEFAULT_LISTENER }, 'no http-socket given: listening on 127.0.0.1:8000');
    try {
      if (!bindFirst) await this.workerAccept.open(sharedSpecs, handover && ((kind, spec) => handover.take(kind, spec)));
      if (this.appError) await this.workerAccept.standIn(this.standInOptions());
      await handover?.adopted(this.sharedSocketList);
    } catch (err) {
      await this.close({ graceful: false });
      throw err instanceof SpindleError ? err : new SpindleError('LISTEN_FAILED', `cannot listen: ${(err as Error).message}`, { cause: err });
    }
    this.files.writePidfile();
    this.cacheStores.startSync();
    if (this.settings.masterFifo) {
      try {
        this.fifo = MasterFifo.open(this.settings.masterFifo, this, this.log);
      } catch (err) {
        await this.close({ graceful: false });
        throw err;
      }
    }
    if (this.settings.stats && !bindFirst) {
      try {
        await this.listenStats();
      } catch (err) {
        await this.close({ graceful: false });
        throw err;
      }
    }
    let ticks = 0;
    this.tickTimer = setInterval(() => {
      const now = performance.now();
      this.supervisor.tick(now);
      this.background.mules.tick(now);
      if (!this.closing) this.scaler?.tick();
      if (++ticks % 10 === 0) this.core.sweep(); // expired cache items, once a second (never blocks)
    }, TICK_MS);
    this.log.info({ event: 'SERVING', addresses: this.addresses, ...(this.statsServer ? { stats: this.statsServer.url } : {}), workers: this.supervisor.routable().length, maxWorkers: this.settings.processes, concurrency: this.settings.concurrency, app: this.settings.appPath }, 'spindle is serving');
  }

  /** need-app = false and no app loaded: what the master answers on the shared sockets. */
  private standInOptions() {
    return {
      maxHeaderBytes: this.settings.maxHeaderBytes,
      socketTimeoutMs: this.settings.socketTimeoutMs,
      log: this.log,
      isBusy: () => false,
      onRequest: (req: IncomingMessage, res: ServerResponse) => {
        req.resume();
        res.shouldKeepAlive = false;
        const body = '503 Service Unavailable: no application is loaded (need-app is off); fix the app and reload\n';
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'retry-after': '5' });
        res.end(body);
        this.observer.observe(503, 0);
        this.requestsTotal++;
      },
    };
  }

  /** The shared sockets and the stats address, before any worker starts; on failure none stays bound. */
  private async bindBeforeWorkers(specs: { kind: 'http' | 'uwsgi'; spec: string }[]): Promise<void> {
    try {
      await this.workerAccept.open(specs);
      if (this.settings.stats) await this.listenStats();
    } catch (err) {
      await this.releaseSockets();
      throw err;
    }
  }

  private async listenStats(): Promise<void> {
    const stats = this.settings.stats!;
    this.statsServer = new StatsServer(this, { ...stats, log: this.log });
    try {
      await this.statsServer.listen();
    } catch (err) {
      if (err instanceof SpindleError) throw err;
      throw new SpindleError('LISTEN_FAILED', `cannot serve stats on ${stats.address}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Start-up failed before serving: the sockets bound so far are closed (and their files removed). */
  private async releaseSockets(): Promise<void> {
    this.workerAccept.close();
    await this.statsServer?.close();
    if (this.settings.vacuum) this.files.vacuum(this.sharedSocketList, null);
  }

  private onWorkerMessage(h: WorkerHandle, m: WorkerMessage): void {
    if (m[0] !== CONTROL) return;
    const c = m[1];
    if (c.kind === 'served') this.workerAccept.served(h, c);
    else if (c.kind === 'bg') this.background.onWorkerControl(h, c.m);
    else if (c.kind === 'other-copy') warnOtherCopy(this.log, c.server, c.app);
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Chain reload: every worker replaced by one that loads the app afresh, one at a time. */
  async reload(): Promise<boolean> {
    if (this.closing) return false;
    if (this.appError) {
      try {
        await this.supervisor.startAll();
        this.appError = '';
        this.workerAccept.endStandIn();
        this.log.info({ event: 'APP_RELOADED' }, 'app loaded by reload');
        return true;
      } catch (err) {
        this.appError = err instanceof AppLoadFailure ? err.detail : String(err);
        this.log.error({ event: 'APP_STILL_FAILS', err: { message: firstLine(this.appError), stack: this.appError } }, 'reload: the app still does not load');
        return false;
      }
    }
    return this.supervisor.reload();
  }

  /**
   * Stops accepting, then either lets in-flight and waiting requests finish (graceful, bounded by
   * worker-reload-mercy) or answers them 503 at once; removes what vacuum should remove.
   */
  close(opts: { graceful: boolean }): Promise<void> {
    if (this.closing) {
      if (!opts.graceful && !this.forceQuick) {
        this.forceQuick = true;
        this.quickNow();
      }
      return this.closing;
    }
    this.closing = this.shutdown(opts.graceful);
    return this.closing;
  }

  /** A second SIGTERM/SIGINT turns a graceful shutdown into a quick one. */
  private forceQuick = false;
  private quickNow: () => void = () => {};

  private async shutdown(graceful: boolean): Promise<void> {
    this.fifo?.close();
    this.background.stopScheduling();
    this.log.info({ event: 'GRACEFUL_SHUTDOWN', graceful, inFlight: this.inFlightCount() }, graceful ? 'graceful shutdown: draining requests' : 'quick shutdown');
    const workersDone = this.supervisor.shutdown(graceful);
    if (graceful) {
      const quick = new Promise<void>((resolve) => { this.quickNow = resolve; });
      await Promise.race([workersDone, quick]);
      if (this.forceQuick) await this.supervisor.shutdown(false);
    } else {
      await workersDone;
    }
    await this.background.close(graceful && !this.forceQuick);
    this.workerAccept.close();
    if (this.tickTimer) clearInterval(this.tickTimer);
    await this.statsServer?.close();
    if (!this.handedOver) await this.cacheStores.saveAtExit();
    if (this.settings.vacuum) this.files.vacuum(this.sharedSocketList, this.handedOver);
    this.log.info({ event: 'STOPPED', uptimeS: Math.round((Date.now() - this.startedAt) / 1000) }, 'spindle stopped');
  }

  /** The listening sockets (full reload hands their keepers to the new process). */
  get sharedSocketList(): readonly SharedSocket[] {
    return this.workerAccept.sockets.sockets;
  }

  /** Full reload: the new process binds the stats address next. */
  async releaseStatsServer(): Promise<void> {
    const stats = this.statsServer;
    this.statsServer = null;
    await stats?.close();
  }

  /** Full reload, old side: these sockets and the pidfile belong to the new process now. */
  handOver(keep: readonly OwnedSocket[]): void {
    this.handedOver = new Set(keep);
  }

  private inFlightCount(): number {
    let n = 0;
    for (const h of this.supervisor.live) n += h.requestsInFlight;
    return n;
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

  /** The facts the stats document is built from (src/master/stats.ts). */
  observation(): ServerObservation {
    return {
      backlog: this.workerAccept.kernelBacklog(),
      backlogLimit: this.settings.backlogLimit,
      listeners: this.sharedSocketList.map((l) => ({ spec: l.spec, url: l.url })),
      serving: this.tickTimer !== undefined,
      shuttingDown: this.closing !== null,
      appError: this.appError,
      startedAt: this.startedAt,
      requestsTotal: this.requestsTotal,
      mules: this.background.muleStats(),
    };
  }

  /** The uWSGI-compatible stats document (what `stats ADDR` serves and SIGUSR1 logs). */
  statsDocument(): StatsDocument {
    return buildStats(this);
  }

  stats(): ServerStats {
    const now = performance.now();
    return {
      pid: process.pid,
      addresses: this.addresses,
      requests: this.requestsTotal,
      backlog: this.workerAccept.kernelBacklog(),
      respawns: this.supervisor.respawns,
      harakiris: this.supervisor.harakiris,
      workers: this.supervisor.slots.slice(1).map((h, i) => ({
        id: i + 1,
        state: h ? h.state : 'empty',
        threadId: h?.threadId ?? 0,
        requests: h?.served ?? 0,
        inFlight: h?.requestsInFlight ?? 0,
        // the scoreboard holds what the worker thread writes (its label, its heap)
        label: h ? this.core.scoreboard.snapshot(i).label : '',
        heapUsed: h ? this.core.scoreboard.memory(i, h.threadId).heapUsed : 0,
        uptimeMs: h && h.readyAt ? Math.round(now - h.readyAt) : 0,
        cheap: this.supervisor.cheap.has(i + 1),
      })),
      cheaper: this.scaler ? this.scaler.stats() : null,
    };
  }
}

export interface ServerStats {
  pid: number;
  addresses: string[];
  requests: number;
  backlog: number;
  respawns: number;
  harakiris: number;
  /** cheap: the slot is stopped by the cheaper (no worker; started again when load rises). */
  workers: { id: number; state: string; threadId: number; requests: number; inFlight: number; label: string; heapUsed: number; uptimeMs: number; cheap: boolean }[];
  /** Adaptive scaling, null when cheaper = 0. */
  cheaper: CheaperStats | null;
}
