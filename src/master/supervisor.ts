// The worker slots and their lifecycle: start, crash respawn with back-off, recycling (max-requests,
// lifetime, heap), harakiri, chain reload and shutdown. It never drops a request: whatever ends a
// worker, its in-flight requests are answered through the host.
import { performance } from 'node:perf_hooks';
import type { Log, LogFields } from '../log/logger.js';
import type { ServerSettings } from './settings.js';
import { WorkerHandle, AppLoadFailure, type HeldRun } from './worker-handle.js';
import { STOP, QUIT, OWN_DEADLINE, type WorkerBoot, type WorkerMessage } from '../protocol/worker.js';
import type { Scoreboard, ExitReason, ThreadState } from '../shm/scoreboard.js';
import { END_REASONS, CrashBackoff, endReason, terminateThread, type EndReason } from './thread-life.js';
import { dumpWorkerStack } from './stack-dump.js';
import type { ListedRequest } from '../protocol/request-table.js';

/** A log line's event code and message. */
type Said = readonly [LogFields['event'], string];

export interface SupervisorHost {
  log: Log;
  onWorkerMessage(h: WorkerHandle, m: WorkerMessage): void;
  /** A worker became ready: waiting handler runs can go to it. */
  pump(): void;
  /** A worker loaded the app and is routable (first start, respawn, recycle, reload, cheaper). */
  workerReady?(h: WorkerHandle): void;
  /** `n` requests the worker accepted end unanswered (it is being terminated). */
  ownRequestsLost?(n: number): void;
  onThreadExit?(threadId: number): void;
}

/** After a replacement failed to load, the old worker is not recycled again for this long. */
const RECYCLE_RETRY_MS = 10_000;
/**
 * A worker answers its own requests' deadlines within its 100 ms tick; one still
 * past a deadline this much later has an event loop that does not run (stuck in synchronous code).
 */
const STUCK_MARGIN_MS = 500;
/** How long a worker asked to QUIT has to answer its requests and exit before it is terminated. */
const QUIT_GRACE_MS = 200;

export class Supervisor {
  /** Current handle of each slot, index 1..processes (0 unused). */
  readonly slots: (WorkerHandle | null)[];
  /** Replacement being started for a slot whose current worker keeps serving meanwhile. */
  private readonly pending: ({ fresh: WorkerHandle; placed: Promise<boolean> } | null)[];
  private readonly backoff: CrashBackoff[];
  private readonly respawnTimers = new Map<number, NodeJS.Timeout>();
  /** Every handle whose thread has not exited yet (current, retiring, zombie). */
  readonly live = new Set<WorkerHandle>();
  /** The chain reload running, and the one asked for while it runs (SIGHUPs coalesce into it). */
  private runningReload: Promise<boolean> | null = null;
  private queuedReload: Promise<boolean> | null = null;
  shuttingDown = false;
  respawns = 0;
  harakiris = 0;
  /** Worker threads that ended, by reason (stats, /metrics). */
  readonly exitsByReason = new Map<ExitReason, number>();
  /** Slots the cheaper keeps empty: not started at boot, not refilled, skipped by reload. */
  readonly cheap = new Set<number>();

  constructor(
    private readonly settings: ServerSettings,
    private readonly host: SupervisorHost,
    private readonly bootFor: (slot: number) => WorkerBoot,
    private readonly board: Scoreboard,
  ) {
    const n = settings.processes + 1;
    this.slots = new Array<WorkerHandle | null>(n).fill(null);
    this.pending = new Array<{ fresh: WorkerHandle; placed: Promise<boolean> } | null>(n).fill(null);
    this.backoff = Array.from({ length: n }, () => new CrashBackoff());
  }

  /** Starts every slot and waits for all apps to load; throws the first AppLoadFailure. */
  async startAll(): Promise<void> {
    const handles: WorkerHandle[] = [];
    for (let slot = 1; slot <= this.settings.processes; slot++) if (!this.cheap.has(slot)) handles.push(this.spawn(slot));
    handles.forEach((h) => { this.slots[h.slot] = h; });
    try {
      await Promise.all(handles.map((h) => h.ready));
    } catch (err) {
      await Promise.all(handles.map((h) => this.terminate(h, 'start-up-failed')));
      throw err;
    }
    if (this.shuttingDown) return; // stopped during start-up: the shutdown logs what follows
    this.host.log.info({ event: 'WORKERS_READY', workers: handles.length, ms: Math.round(Math.max(...handles.map((h) => h.readyAt - h.spawnedAt))) }, 'workers ready');
  }

  routable(): WorkerHandle[] {
    const out: WorkerHandle[] = [];
    for (const h of this.slots) if (h && h.state === 'ready') out.push(h);
    return out;
  }

  private spawn(slot: number): WorkerHandle {
    const h = new WorkerHandle(slot, this.bootFor(slot), this.settings.heapLimitMb, (hh, m) => this.host.onWorkerMessage(hh, m));
    this.live.add(h);
    this.board.spawned(slot - 1, h.threadId, h.spawnedAtEpoch);
    h.ready.then(() => {
      if (h.state !== 'ready') return;
      this.setState(h, 'ready'); // the slot's too, unless a newer thread was spawned in it meanwhile
      this.host.workerReady?.(h);
    }, () => {});
    h.thread.once('exit', (code) => this.onExit(h, code));
    return h;
  }

  /**
   * What reload-on-rss watches: the memory `h`'s isolate holds (V8 heap + external), as its
   * thread writes it into the scoreboard (0 while another thread owns the slot).
   */
  private memory(h: WorkerHandle): number {
    const m = this.board.memory(h.slot - 1, h.threadId);
    return m.heapUsed + m.external;
  }

  private memoryFields(h: WorkerHandle): { heapMb: number; externalMb: number } {
    const m = this.board.memory(h.slot - 1, h.threadId);
    return { heapMb: mb(m.heapUsed), externalMb: mb(m.external) };
  }

  /** `h`'s state, and its slot's in the scoreboard while `h` is the newest thread there. */
  private setState(h: WorkerHandle, state: ThreadState): void {
    h.state = state;
    if (this.board.owns(h.slot - 1, h.threadId)) this.board.setState(h.slot - 1, state);
  }

  /** `n` requests on `h` completed: count them, and recycle or finish retiring if due. */
  requestDone(h: WorkerHandle, n = 1): void {
    h.served += n;
    if (h.state === 'retiring' && h.runs.size === 0) {
      h.thread.postMessage([STOP]);
      return;
    }
    // Younger than min-worker-lifetime: tick() recycles it once it is old enough.
    if (this.servedEnough(h) && performance.now() - h.readyAt >= this.settings.minLifetimeMs) this.recycle(h, 'max-requests');
  }

  /** `h` is ready and has served max-requests (+ its delta). */
  private servedEnough(h: WorkerHandle): boolean {
    const { maxRequests, maxRequestsDelta } = this.settings;
    return maxRequests > 0 && h.state === 'ready' && h.served >= maxRequests + (h.slot - 1) * maxRequestsDelta;
  }

  /** Periodic checks (every 100 ms): harakiri deadlines, lifetime, heap; the workers' own requests. */
  tick(now = performance.now()): void {
    const s = this.settings;
    this.publishOwnRequests(now);
    for (const h of this.live) {
      if (h.state === 'ready' || h.state === 'retiring') {
        const own = h.own[OWN_DEADLINE]! > 0 ? h.own[OWN_DEADLINE]! - performance.timeOrigin : 0;
        if (own > 0 && now >= own + STUCK_MARGIN_MS) {
          this.onStuck(h, now - own);
          continue;
        }
        for (const run of h.runs.values()) {
          if (run.deadline > 0 && now >= run.deadline) {
            this.onRunDeadline(h, run, now);
            break;
          }
        }
      }
      if (h.state !== 'ready') continue;
      const memory = this.memory(h);
      if (s.evilReloadOnHeapBytes > 0 && memory >= s.evilReloadOnHeapBytes) {
        this.host.log.warn({ event: 'EVIL_RELOAD_ON_RSS', worker: h.slot, ...this.memoryFields(h), limitMb: mb(s.evilReloadOnHeapBytes) }, 'worker memory past evil-reload-on-rss: terminating it now');
        this.kill(h, 'evil-reload-on-rss');
        continue;
      }
      const lived = now - h.readyAt;
      if (lived < s.minLifetimeMs) continue;
      if (this.servedEnough(h)) {
        this.recycle(h, 'max-requests');
      } else if (s.maxLifetimeMs > 0 && lived >= s.maxLifetimeMs + (h.slot - 1) * s.maxLifetimeDeltaMs) {
        this.recycle(h, 'max-worker-lifetime');
      } else if (s.reloadOnHeapBytes > 0 && memory >= s.reloadOnHeapBytes) {
        this.recycle(h, 'reload-on-rss');
      }
    }
  }

  /**
   * Each slot's requests in flight, as its workers publish them, into the
   * scoreboard (in_flight, busy/idle in stats and top), sampled every tick. The retiring and the
   * new worker of a slot count together.
   */
  private publishOwnRequests(now: number): void {
    for (let slot = 1; slot <= this.settings.processes; slot++) {
      const current = this.slots[slot];
      if (!current || current.state !== 'ready') continue;
      let n = 0;
      for (const h of this.live) if (h.slot === slot && (h.state === 'ready' || h.state === 'retiring')) n += h.requestsInFlight;
      this.board.setInFlight(slot - 1, n, now);
    }
  }

  /** A timer, cron or signal run past harakiri: the worker is stuck in it (or the handler hangs). */
  private onRunDeadline(h: WorkerHandle, run: HeldRun, now: number): void {
    const ran = Math.round(now - run.startedAt);
    this.harakiris++;
    this.board.harakiri(h.slot - 1);
    this.host.log.error({ event: 'HARAKIRI', worker: h.slot, run: run.label, ms: ran }, 'HARAKIRI: a handler run ran past its deadline; terminating the worker');
    this.kill(h, 'harakiri', this.settings.harakiriVerbose);
  }

  /** Ends every handler run `h` holds (its worker is gone or being ended) as failed. */
  private endRuns(h: WorkerHandle, why: string): void {
    for (const run of [...h.runs.values()]) run.end(why);
    h.runs.clear();
  }

  /**
   * A request the worker accepted is past its deadline and the worker cannot act. The log names
   * the request the thread is stuck in when it was in its handler's synchronous code, else the
   * one whose deadline passed first, and lists every request lost.
   */
  private onStuck(h: WorkerHandle, lateMs: number): void {
    this.harakiris++;
    this.board.harakiri(h.slot - 1);
    const lost = h.ownInFlight;
    const now = performance.timeOrigin + performance.now();
    const listed = h.requestTable?.list() ?? [];
    const overdue = listed.filter((r) => r.deadline > 0 && r.deadline <= now).sort((a, b) => a.deadline - b.deadline);
    const culprit = listed.find((r) => r.running) ?? overdue[0];
    const show = (r: ListedRequest) => ({ method: r.method, path: r.path, ageMs: Math.round(now - r.receivedAt), pastDeadline: r.deadline > 0 && r.deadline <= now });
    this.host.log.error({
      event: 'HARAKIRI', worker: h.slot, lateMs: Math.round(lateMs),
      request: culprit ? { ...show(culprit), stuckIn: culprit.running } : undefined,
      lost, requests: listed.map(show), ...(lost > listed.length ? { unlisted: lost - listed.length } : {}),
    }, 'HARAKIRI: a request ran past its deadline and the worker does not respond (stuck in synchronous code); terminating it, which closes the connections it accepted (request: the one it is stuck in, or else the first past its deadline; requests: every request lost)');
    this.host.ownRequestsLost?.(lost);
    this.kill(h, 'harakiri', this.settings.harakiriVerbose);
  }

  /**
   * Ends `h` at once (harakiri, evil reload): its runs end as failed, the thread is terminated
   * (closing the connections it accepted), and a replacement starts immediately.
   */
  kill(h: WorkerHandle, reason: EndReason, dumpStack = false): void {
    if (this.slots[h.slot] === h) this.slots[h.slot] = null;
    this.endRuns(h, reason);
    this.setState(h, 'zombie'); // no more requests
    h.endReason ??= reason;
    if (!this.shuttingDown) this.fill(h.slot);
    if (!dumpStack) {
      void this.terminate(h, reason);
      return;
    }
    void dumpWorkerStack(h.threadId).then((stack) => {
      this.host.log.error({ event: 'HARAKIRI_STACK', worker: h.slot, threadId: h.threadId, stack: stack ?? ['unavailable: the thread did not pause (stuck in native code?)'] }, 'HARAKIRI: JavaScript stack of the stuck worker');
      return this.terminate(h, reason);
    });
  }

  /** Graceful recycle: the replacement starts first; the old worker retires once it is ready. */
  recycle(h: WorkerHandle, reason: EndReason): void {
    if (this.pending[h.slot] || this.shuttingDown || h.state !== 'ready') return;
    if (performance.now() < h.recycleRetryAt) return; // its replacement failed to load a moment ago
    const lifetimeMs = Math.round(performance.now() - h.readyAt);
    this.host.log.info({ event: 'WORKER_RECYCLE', worker: h.slot, reason, served: h.served, lifetimeMs, ...this.memoryFields(h) }, 'recycling worker');
    void this.replace(h, reason);
  }

  /** Starts a replacement for `old`; resolves once it is placed (true) or has failed to load (false). */
  private replace(old: WorkerHandle, reason: EndReason): Promise<boolean> {
    const fresh = this.spawn(old.slot);
    const placed = this.place(old, fresh, reason);
    this.pending[old.slot] = { fresh, placed };
    return placed;
  }

  /**
   * Once `fresh` is ready it takes the slot and `old` retires. Every fresh worker ends up either
   * in its slot or retired: while it loaded, the slot may have been emptied (the old worker
   * crashed or was killed: it takes the slot) or refilled by a respawn (it retires).
   */
  private async place(old: WorkerHandle, fresh: WorkerHandle, reason: EndReason): Promise<boolean> {
    const slot = old.slot;
    try {
      await fresh.ready;
    } catch (err) {
      this.pending[slot] = null;
      if (this.shuttingDown) { // ended by the shutdown while it loaded: not the app's failure
        void this.terminate(fresh, 'shutdown');
        return false;
      }
      this.host.log.error({ event: 'REPLACEMENT_FAILED', worker: slot, reason, err: loadFailure(err) }, 'replacement worker failed to load the app; the old worker keeps serving');
      old.recycleRetryAt = performance.now() + RECYCLE_RETRY_MS;
      void this.terminate(fresh, 'load-failed');
      return false;
    }
    this.pending[slot] = null;
    if (this.shuttingDown) {
      void this.terminate(fresh, 'shutdown');
      return false;
    }
    const current = this.slots[slot];
    if (current === old || (!current && !this.cheap.has(slot))) {
      this.slots[slot] = fresh;
    } else {
      this.host.log.info({ event: 'REPLACEMENT_SUPERSEDED', worker: slot, reason, threadId: fresh.threadId }, 'replacement worker not needed: its slot was refilled while it loaded; it exits');
      this.retire(fresh, 'superseded');
    }
    this.retire(old, reason);
    this.host.pump();
    return true;
  }

  /** No new requests for `h`; it exits when its requests are done, or is ended after the mercy. */
  retire(h: WorkerHandle, reason: EndReason): void {
    if (h.state === 'dead' || h.state === 'zombie' || h.state === 'retiring') return;
    if (this.slots[h.slot] === h) this.slots[h.slot] = null;
    this.setState(h, 'retiring');
    h.endReason = reason;
    if (h.runs.size === 0) h.thread.postMessage([STOP]);
    h.mercyTimer = setTimeout(() => {
      if (h.state !== 'retiring') return;
      this.host.log.warn({ event: 'WORKER_MERCY_EXPIRED', worker: h.slot, reason, inFlight: h.requestsInFlight, mercyMs: this.settings.mercyMs }, 'worker-reload-mercy expired: terminating the worker');
      this.endRuns(h, 'mercy');
      void this.endNow(h, reason, 'the worker was stopped before this request finished (worker-reload-mercy expired)');
    }, this.settings.mercyMs);
    this.host.log.debug({ event: 'WORKER_RETIRING', worker: h.slot, reason, inFlight: h.requestsInFlight }, 'worker retiring');
  }

  /**
   * Ends a worker now (quick shutdown, mercy expired). A worker with requests in flight, or with
   * connections (requests read may wait to start), is first asked to answer them 503 with
   * `message` and exit; terminated if it has not within 200 ms.
   */
  private async endNow(h: WorkerHandle, reason: EndReason, message: string): Promise<void> {
    if ((h.ownInFlight > 0 || h.listening) && h.state !== 'dead') {
      // Decided before the worker is asked: it usually exits within the grace, and onExit() must
      // log that as the end the master chose, not as a crash.
      h.endReason ??= reason;
      h.thread.postMessage([QUIT, message]);
      const t = setTimeout(() => void this.terminate(h, reason), QUIT_GRACE_MS);
      await h.exited;
      clearTimeout(t);
      return;
    }
    await this.terminate(h, reason);
  }

  /** Terminates the thread; marks it a zombie while terminate() waits on native code. */
  async terminate(h: WorkerHandle, reason: EndReason): Promise<void> {
    if (h.state === 'dead') return;
    h.endReason ??= reason;
    this.setState(h, 'zombie');
    if (h.mercyTimer) clearTimeout(h.mercyTimer);
    await terminateThread(h.thread, this.host.log, { worker: h.slot, threadId: h.threadId, reason });
  }

  private onExit(h: WorkerHandle, code: number): void {
    this.live.delete(h);
    if (h.mercyTimer) clearTimeout(h.mercyTimer);
    h.state = 'dead';
    this.host.onThreadExit?.(h.threadId);
    const expected = h.endReason !== undefined;
    const reason = endReason(h.endReason, h.lastError);
    h.endReason = reason;
    // The slot's scoreboard entry belongs to the newest thread in it; an old one leaving after its
    // replacement started must not overwrite it.
    const ended = END_REASONS[reason];
    this.exitsByReason.set(ended, (this.exitsByReason.get(ended) ?? 0) + 1);
    const current = this.slots[h.slot];
    if (!current || current === h) this.board.exited(h.slot - 1, ended, code, Date.now());
    this.endRuns(h, 'worker-died');
    const lifetimeMs = h.readyAt ? Math.round(performance.now() - h.readyAt) : 0;
    const fields = { worker: h.slot, threadId: h.threadId, reason, code, served: h.served, lifetimeMs };
    if (expected) {
      this.host.log.info({ event: 'WORKER_EXITED', ...fields }, 'worker exited');
      return;
    }
    this.host.log.error({ event: 'WORKER_DIED', ...fields, err: h.lastError }, 'worker died');
    if (this.slots[h.slot] === h) this.slots[h.slot] = null;
    if (this.shuttingDown || h.readyAt === 0) return; // a load failure is handled by whoever spawned it
    this.backoff[h.slot]!.crashed(lifetimeMs);
    this.fill(h.slot);
  }

  /** Starts a worker in an empty slot, after the crash back-off if the slot keeps crashing. */
  private fill(slot: number): void {
    if (this.shuttingDown || this.respawnTimers.has(slot) || this.slots[slot] || this.cheap.has(slot)) return;
    const { streak, delayMs: delay } = this.backoff[slot]!;
    if (delay > 0) this.host.log.warn({ event: 'WORKER_RESPAWN_DELAYED', worker: slot, crashes: streak, delayMs: delay }, 'worker keeps dying; delaying its respawn');
    const timer = setTimeout(() => {
      this.respawnTimers.delete(slot);
      if (this.shuttingDown || this.slots[slot]) return;
      this.respawns++;
      this.startInSlot(slot, ['WORKER_RESPAWNED', 'worker respawned'], ['WORKER_RESPAWN_FAILED', 'respawned worker failed to load the app'], (h) => {
        this.backoff[slot]!.failed();
        void this.terminate(h, 'load-failed').then(() => this.fill(slot));
      });
    }, delay);
    this.respawnTimers.set(slot, timer);
  }

  /**
   * Starts a worker as the current one of the empty `slot`: logs `started` when it is ready, or
   * `failed` and empties the slot again before `onFailure` decides what comes next.
   */
  private startInSlot(slot: number, started: Said, failed: Said, onFailure: (h: WorkerHandle) => void): void {
    const h = this.spawn(slot);
    this.slots[slot] = h;
    h.ready.then(
      () => { this.host.log.info({ event: started[0], worker: slot, ms: Math.round(h.readyAt - h.spawnedAt) }, started[1]); this.host.pump(); },
      (err: unknown) => {
        this.host.log.error({ event: failed[0], worker: slot, err: loadFailure(err) }, failed[1]);
        if (this.slots[slot] === h) this.slots[slot] = null;
        onFailure(h);
      },
    );
  }

  // ---- cheaper (driven by master/scaler.ts) ----

  get isReloading(): boolean {
    return this.runningReload !== null;
  }

  /** A replacement (recycle, reload) is being started for this slot. */
  replacing(slot: number): boolean {
    return this.pending[slot] !== null;
  }

  /** Cheaper: starts a worker in the cheap, empty `slot`. */
  wake(slot: number): boolean {
    if (this.shuttingDown || !this.cheap.has(slot) || this.slots[slot] || this.pending[slot]) return false;
    this.cheap.delete(slot);
    this.backoff[slot]!.reset();
    this.startInSlot(slot, ['WORKER_STARTED', 'worker started'], ['WORKER_START_FAILED', 'a worker started by the cheaper failed to load the app; its slot stays cheap'], (h) => {
      if (!this.shuttingDown) this.cheap.add(slot);
      void this.terminate(h, 'load-failed');
    });
    return true;
  }

  /** Cheaper: the worker of `slot` finishes its requests and exits; the slot stays empty (cheap). */
  cheapen(slot: number): boolean {
    const h = this.slots[slot];
    if (this.shuttingDown || !h || h.state !== 'ready' || this.pending[slot]) return false;
    this.cheap.add(slot);
    this.retire(h, 'cheaper');
    return true;
  }

  /**
   * Chain reload. One asked for while another runs is queued and runs once the current one ends,
   * so every worker ends up with the code of the latest request; further requests meanwhile join
   * the queued one. Resolves as the reload that serves this request does.
   */
  reload(): Promise<boolean> {
    if (this.shuttingDown) return Promise.resolve(false);
    if (this.queuedReload) {
      this.host.log.info({ event: 'RELOAD_QUEUED', coalesced: true }, 'reload requested during a chain reload: joins the reload already queued');
      return this.queuedReload;
    }
    if (this.runningReload) {
      this.host.log.info({ event: 'RELOAD_QUEUED', coalesced: false }, 'reload requested during a chain reload: queued, it runs when the current one ends');
      const startNext = () => {
        this.queuedReload = null;
        return this.startReload();
      };
      const next = this.runningReload.then(startNext, startNext);
      this.queuedReload = next;
      return next;
    }
    return this.startReload();
  }

  private startReload(): Promise<boolean> {
    if (this.shuttingDown) return Promise.resolve(false);
    const run = this.chainReload().finally(() => { if (this.runningReload === run) this.runningReload = null; });
    this.runningReload = run;
    return run;
  }

  /**
   * One slot at a time, start a worker with the app loaded afresh, and retire the old one once
   * the new one is ready. Stops at the first load failure: the old workers keep serving.
   * Resolves true when every slot runs a worker started after the reload began.
   */
  private async chainReload(): Promise<boolean> {
    const started = performance.now();
    this.host.log.info({ event: 'RELOAD_START', workers: this.settings.processes }, 'chain reload started');
    for (let slot = 1; slot <= this.settings.processes; slot++) {
      // A recycle's replacement under way may have loaded the old code: let it take the slot first.
      await this.pending[slot]?.placed;
      let old = this.slots[slot];
      if (old?.state === 'starting') {
        await old.ready.catch(() => {});
        old = this.slots[slot];
      }
      if (this.shuttingDown) return false;
      if (old && old.state === 'ready' && old.spawnedAt < started) {
        if (!(await this.replace(old, 'reload'))) {
          if (this.shuttingDown) return false;
          this.host.log.error({ event: 'RELOAD_FAILED', worker: slot }, 'chain reload stopped: the new code does not load; the running workers keep serving');
          return false;
        }
      } else if (!old && !this.respawnTimers.has(slot)) {
        this.fill(slot);
      }
    }
    this.host.log.info({ event: 'RELOAD_DONE' }, 'chain reload complete');
    return true;
  }

  /** Graceful: every worker finishes its requests (within the mercy) and exits. Quick: terminate. */
  async shutdown(graceful: boolean): Promise<void> {
    this.shuttingDown = true;
    for (const t of this.respawnTimers.values()) clearTimeout(t);
    this.respawnTimers.clear();
    for (const h of [...this.live]) {
      if (graceful && (h.state === 'ready' || h.state === 'starting')) this.retire(h, 'shutdown');
      else if (!graceful) {
        this.endRuns(h, 'shutdown');
        void this.endNow(h, 'shutdown', 'the server is shutting down');
      }
    }
    await Promise.all([...this.live].map((h) => h.exited));
  }
}

/** The log's `err` for a worker that did not load the app. */
function loadFailure(err: unknown): { message: string; stack: string } {
  const detail = err instanceof AppLoadFailure ? err.detail : String(err);
  return { message: detail, stack: detail };
}

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);
