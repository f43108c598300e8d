// Mules: background threads fed by messages the master queues for them.
//
// The master owns every mule's queue (bounded by mule-msg-queue), so a mule that crashes or is
// killed is respawned and finds its queued messages still there; only the message it was
// handling is lost (logged and counted, as in uWSGI: redelivering it could crash-loop). A mule
// pulls one item at a time: asking for the next item means the previous one is handled, and
// mule-harakiri bounds that handling (and handler runs of timers/signals sent to the mule),
// checked on the master's tick. A mule's state lives in its scoreboard slot (ThreadState); its
// life (back-off, exit reasons, terminate) follows thread-life.ts, as the request workers' does.
// Graceful shutdown drains: the master waits until every queue is empty and every mule idle,
// then tells the mules to finish (their message iterator ends), within worker-reload-mercy.
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { warnOtherCopy } from './package-copies.js';
import type { Log } from '../log/logger.js';
import type { Scoreboard, ThreadState } from '../shm/scoreboard.js';
import { END_REASONS, CrashBackoff, endReason, terminateThread, type EndReason } from './thread-life.js';
import { CONTROL, type WorkerMessage } from '../protocol/worker.js';
import type { MuleBoot } from '../protocol/mule.js';
import { BG, type BgToMaster, type BgToThread, type MuleItem } from '../protocol/background.js';
import type { MuleRunner, Run } from './runs.js';

const ENTRY = new URL('../worker/mule-entry.js', import.meta.url);

export interface MuleSpec { id: number; program: string; farms: string[] }

export interface MulesHost {
  log: Log;
  board: Scoreboard;
  boot: Omit<MuleBoot, 'muleId' | 'program' | 'farms' | 'threadName'>;
  heapLimitMb: number;
  /** the OS thread name of mule `id` (procname-prefix, within 15 bytes) */
  muleThreadName(id: number): string;
  queueLimit: number;
  harakiriMs: number;
  mercyMs: number;
  /** a background control message from mule `id` (everything but pull/cancel-pull) */
  onControl(id: number, m: BgToMaster): void;
  /** runs that were in a mule that died */
  failRuns(runIds: number[], reason: string): void;
  /** a mule started: waiting runs may go */
  onMuleReady(): void;
}

class MuleSlot {
  thread?: Worker;
  threadId = 0;
  readonly queue: MuleItem[] = [];
  pull: number | undefined;
  current: { since: number } | undefined;
  readonly runs = new Map<number, number>(); // runId → start
  startedAt = 0;
  readonly backoff = new CrashBackoff();
  respawnTimer?: NodeJS.Timeout;
  /** Why the master ended (or is ending) the thread; undefined while it runs. */
  endReason?: EndReason;
  lastError?: Error;
  exited: Promise<void> = Promise.resolve();
  // stats
  queued = 0;
  delivered = 0;
  dropped = 0;
  lost = 0;
  respawns = 0;
  runsDone = 0;
  /** `board` is where the mule's state lives; `index` its slot there. */
  constructor(readonly spec: MuleSpec, private readonly board: Scoreboard, readonly index = board.muleSlot(spec.id)) {}
  get state(): ThreadState { return this.board.state(this.index); }
  set state(s: ThreadState) { this.board.setState(this.index, s); }
  get load(): number { return this.queue.length + (this.current ? 1 : 0) + this.runs.size; }
}

export interface MuleStats {
  id: number; program: string; farms: string[]; state: ThreadState; threadId: number; label: string;
  queue: number; busy: boolean; queued: number; delivered: number; dropped: number; lost: number;
  respawns: number; runs: number;
}

export class Mules implements MuleRunner {
  private readonly slots: MuleSlot[];
  private readonly farms = new Map<string, number[]>();
  private closing = false;
  /** close() began: mule-harakiri no longer applies (worker-reload-mercy bounds the drain). */
  private draining = false;

  constructor(private readonly host: MulesHost, specs: MuleSpec[], farms: { name: string; mules: number[] }[]) {
    this.slots = specs.map((s) => new MuleSlot(s, host.board));
    for (const f of farms) this.farms.set(f.name, f.mules);
  }

  count(): number { return this.slots.length; }

  /** Posts to mule `id` if it runs (replies to its calls). */
  postTo(id: number, msg: BgToThread): void {
    this.slots[id - 1]?.thread?.postMessage([BG, msg]);
  }
  farm(name: string): number[] | undefined { return this.farms.get(name); }

  start(): void {
    for (const s of this.slots) this.spawn(s);
  }

  private spawn(s: MuleSlot): void {
    const { spec } = s;
    const name = `spindle mule ${spec.id}`;
    const boot: MuleBoot = { ...this.host.boot, muleId: spec.id, program: spec.program, farms: spec.farms, threadName: this.host.muleThreadName(spec.id) };
    const thread = new Worker(ENTRY, { workerData: boot, name, resourceLimits: { maxOldGenerationSizeMb: this.host.heapLimitMb } });
    s.thread = thread;
    s.threadId = thread.threadId;
    s.startedAt = performance.now();
    s.endReason = undefined;
    s.lastError = undefined;
    s.pull = undefined;
    s.current = undefined;
    this.host.board.spawned(s.index, thread.threadId, Date.now()); // state: starting
    thread.on('message', (m: WorkerMessage) => {
      if (m[0] !== CONTROL) return;
      const c = m[1];
      if (c.kind === 'bg') this.onControl(s, c.m);
      else if (c.kind === 'other-copy') warnOtherCopy(this.host.log, c.server, c.app);
    });
    thread.on('error', (err) => { s.lastError = err; });
    s.exited = new Promise((done) => thread.once('exit', (code) => { this.onExit(s, thread, code); done(); }));
  }

  private onControl(s: MuleSlot, m: BgToMaster): void {
    if (m.op === 'ready') {
      if (s.state === 'starting') s.state = 'ready';
      this.host.log.info({ event: 'MULE_READY', mule: s.spec.id, program: s.spec.program || '(generic)', farms: s.spec.farms, threadId: s.threadId, ms: Math.round(performance.now() - s.startedAt) }, 'mule ready');
      this.host.onMuleReady();
      return;
    }
    if (m.op === 'pull') {
      if (s.current) { s.current = undefined; this.host.board.setInFlight(s.index, 0, performance.now()); }
      s.pull = m.pullId;
      this.deliver(s);
      return;
    }
    if (m.op === 'cancel-pull') {
      if (s.pull === m.pullId) s.pull = undefined;
      return;
    }
    if (m.op === 'done') { s.runs.delete(m.runId); s.runsDone++; }
    this.host.onControl(s.spec.id, m);
  }

  private deliver(s: MuleSlot): void {
    const state = s.state;
    const open = state === 'starting' || state === 'ready' || (state === 'retiring' && this.closing);
    if (!open || s.pull === undefined || !s.queue.length || !s.thread) return;
    const item = s.queue.shift()!;
    const msg: BgToThread = { op: 'item', pullId: s.pull, item };
    s.pull = undefined;
    s.current = { since: performance.now() };
    s.delivered++;
    this.host.board.setInFlight(s.index, 1, performance.now());
    s.thread.postMessage([BG, msg]);
  }

  /** Resolves a target to candidate mules; a string error when it names nothing. */
  private candidates(target: number | string | undefined): MuleSlot[] | string {
    if (!this.slots.length) return 'no mules are configured (set mule = path/to/mule.js or mules = N)';
    if (target === undefined) return this.slots;
    let id: number | undefined;
    if (typeof target === 'number') id = target;
    else if (/^mule\d+$/.test(target)) id = Number(target.slice(4));
    if (id !== undefined) {
      const s = this.slots[id - 1];
      return s ? [s] : `there is no mule ${id} (mules: 1..${this.slots.length})`;
    }
    const name = String(target).replace(/^farm:/, '');
    const ids = this.farms.get(name);
    return ids ? ids.map((i) => this.slots[i - 1]!) : `there is no farm '${name}' (farms: ${[...this.farms.keys()].join(', ') || 'none'})`;
  }

  private leastLoaded(list: MuleSlot[]): MuleSlot {
    let best = list[0]!;
    for (const s of list) if (s.load < best.load || (s.load === best.load && s.pull !== undefined && best.pull === undefined)) best = s;
    return best;
  }

  /** Queues an item: true, false (queue full), or an error text (bad target). */
  enqueue(item: MuleItem, target: number | string | undefined): boolean | string {
    const list = this.candidates(target);
    if (typeof list === 'string') return list;
    const s = this.leastLoaded(list);
    if (s.queue.length >= this.host.queueLimit) {
      s.dropped++;
      if (s.dropped === 1 || s.dropped % 100 === 0) {
        this.host.log.warn({ event: 'MULE_QUEUE_FULL', mule: s.spec.id, queue: s.queue.length, dropped: s.dropped, limit: this.host.queueLimit }, 'mule message queue is full: message refused (mule-msg-queue)');
      }
      return false;
    }
    s.queue.push(item);
    s.queued++;
    this.deliver(s);
    return true;
  }

  deliverRun(run: Run, msg: BgToThread, ids: number[]): boolean {
    const live = ids.map((i) => this.slots[i - 1]).filter((s): s is MuleSlot => !!s && s.state === 'ready' && !!s.thread);
    if (!live.length) return false;
    const s = this.leastLoaded(live);
    s.runs.set(run.id, performance.now());
    run.where = `mule${s.spec.id}`;
    s.thread!.postMessage([BG, msg]);
    return true;
  }

  /** The master's periodic check (every 100 ms): mule-harakiri on the task each mule runs. */
  tick(now = performance.now()): void {
    const limit = this.host.harakiriMs;
    if (limit <= 0 || this.draining) return;
    for (const s of this.slots) {
      const state = s.state;
      if ((state !== 'ready' && state !== 'starting') || !s.thread) continue;
      let since = s.current?.since ?? Infinity;
      for (const t of s.runs.values()) since = Math.min(since, t);
      if (now - since < limit) continue;
      this.host.board.harakiri(s.index);
      this.host.log.error({ event: 'MULE_HARAKIRI', mule: s.spec.id, ms: Math.round(now - since), limitMs: limit }, 'MULE HARAKIRI: the mule ran past mule-harakiri on one task; terminating it');
      this.terminate(s, 'mule-harakiri');
    }
  }

  /** Ends the mule's thread now; `reason` is what its exit is recorded as. */
  private terminate(s: MuleSlot, reason: EndReason): void {
    if (!s.thread) return;
    s.endReason ??= reason;
    s.state = 'zombie';
    void terminateThread(s.thread, this.host.log, { mule: s.spec.id, threadId: s.threadId, reason });
  }

  private onExit(s: MuleSlot, thread: Worker, code: number): void {
    if (s.thread !== thread) return;
    s.thread = undefined;
    const killed = s.endReason === 'mule-harakiri';
    const reason = endReason(s.endReason ?? (this.closing ? 'shutdown' : undefined), s.lastError);
    this.host.board.exited(s.index, END_REASONS[reason], code, Date.now()); // state: dead
    if (s.runs.size) {
      this.host.failRuns([...s.runs.keys()], `mule ${s.spec.id} ${killed ? 'was killed (mule-harakiri)' : 'died'}`);
      s.runs.clear();
    }
    if (s.current) {
      s.lost++;
      this.host.log.warn({ event: 'MULE_MESSAGE_LOST', mule: s.spec.id, lost: s.lost }, 'the message the mule was handling is lost (queued messages are kept)');
    }
    s.current = undefined;
    s.pull = undefined;
    const lifetime = performance.now() - s.startedAt;
    if (this.closing) {
      this.host.log.info({ event: 'MULE_EXITED', mule: s.spec.id, reason, code, queue: s.queue.length }, 'mule exited');
      return;
    }
    const fields = { mule: s.spec.id, reason, code, lifetimeMs: Math.round(lifetime), queue: s.queue.length, err: s.lastError };
    if (killed) this.host.log.error({ event: 'MULE_KILLED', ...fields }, 'mule killed; respawning');
    else if (code === 0 && !s.lastError) this.host.log.warn({ event: 'MULE_RETURNED', ...fields }, 'mule program returned; respawning (a mule runs for the life of the server)');
    else this.host.log.error({ event: 'MULE_DIED', ...fields }, 'mule died; respawning (its queued messages are kept)');
    s.backoff.crashed(lifetime);
    const delay = s.backoff.delayMs;
    s.respawnTimer = setTimeout(() => {
      s.respawnTimer = undefined;
      if (this.closing) return;
      s.respawns++;
      this.spawn(s);
    }, delay);
  }

  /** Graceful: wait for the queues to empty (within the mercy), then let the mules finish. */
  async close(graceful: boolean): Promise<void> {
    this.draining = true;
    const deadline = performance.now() + this.host.mercyMs;
    if (graceful && this.slots.length) {
      this.host.log.info({ event: 'MULES_DRAINING', queued: this.slots.reduce((n, s) => n + s.queue.length, 0) }, 'draining mules');
      while (performance.now() < deadline && this.slots.some((s) => s.load > 0 && (s.state === 'ready' || s.state === 'starting' || s.respawnTimer))) {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    this.closing = true;
    for (const s of this.slots) {
      if (s.respawnTimer) clearTimeout(s.respawnTimer);
      if (!s.thread) continue;
      if (graceful) {
        s.state = 'retiring';
        s.thread.postMessage([BG, { op: 'drain' } satisfies BgToThread]);
      } else {
        this.terminate(s, 'shutdown');
      }
    }
    if (graceful) {
      const left = Math.max(0, deadline - performance.now());
      const timer = setTimeout(() => {
        for (const s of this.slots) {
          if (!s.thread) continue;
          this.host.log.warn({ event: 'MULE_MERCY_EXPIRED', mule: s.spec.id }, 'mule did not finish within worker-reload-mercy: terminating it');
          this.terminate(s, 'shutdown');
        }
      }, left);
      await Promise.all(this.slots.map((s) => s.exited));
      clearTimeout(timer);
    } else {
      await Promise.all(this.slots.map((s) => s.exited));
    }
    const lost = this.slots.reduce((n, s) => n + s.queue.length, 0);
    if (lost) this.host.log.warn({ event: 'MULE_MESSAGES_DISCARDED', messages: lost }, 'mule messages still queued at shutdown were discarded');
  }

  stats(): MuleStats[] {
    return this.slots.map((s) => ({
      id: s.spec.id, program: s.spec.program, farms: s.spec.farms, state: s.state, threadId: s.threadId,
      label: this.host.board.snapshot(s.index).label,
      queue: s.queue.length, busy: !!s.current || s.runs.size > 0, queued: s.queued, delivered: s.delivered,
      dropped: s.dropped, lost: s.lost, respawns: s.respawns, runs: s.runsDone,
    }));
  }
}
