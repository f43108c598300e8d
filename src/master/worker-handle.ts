// One request worker thread as the master sees it. A slot (1..processes) holds one current
// handle; during a recycle or reload the old handle retires beside its replacement.
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { READY, LOAD_FAILED, OWN_IN_FLIGHT, type WorkerBoot, type WorkerMessage } from '../protocol/worker.js';
import { readBusyMs } from '../protocol/busy-clock.js';
import { RequestTable } from '../protocol/request-table.js';
import type { ThreadState } from '../shm/scoreboard.js';
import type { EndReason } from './thread-life.js';

/**
 * Work the master handed a worker and watches itself: a timer, cron or signal run (master/runs.ts).
 * Requests are not held here: the worker accepts and watches its own (OwnHttpSettings.ownState).
 */
export interface HeldRun {
  readonly id: number;
  /** For logs, e.g. 'timer:cleanup'. */
  readonly label: string;
  readonly startedAt: number;
  /** harakiri deadline (performance.now() ms); 0 = none. */
  readonly deadline: number;
  /** The worker ended before the run did (harakiri, death, mercy, shutdown): `why` says how. */
  end(why: string): void;
}

export class AppLoadFailure extends Error {
  constructor(readonly reason: string, readonly detail: string) {
    super(detail);
  }
}

const ENTRY = new URL('../worker/entry.js', import.meta.url);

export class WorkerHandle {
  readonly thread: Worker;
  /** The thread's id (Worker.threadId reads -1 once the thread has exited). */
  readonly threadId: number;
  /**
   * This thread's state (ThreadState). The scoreboard holds its slot's, which is the newest
   * thread's: a retiring thread lives beside its replacement, so each handle keeps its own too.
   */
  state: ThreadState = 'starting';
  /** Timer, cron and signal runs in this worker, by run id. */
  readonly runs = new Map<number, HeldRun>();
  readonly spawnedAt = performance.now();
  readonly spawnedAtEpoch = Date.now();
  readyAt = 0;
  served = 0;
  /** Why the master ended (or is ending) this worker; undefined while it runs normally. */
  endReason?: EndReason;
  exitCode?: number;
  lastError?: Error;
  /** Resolves when the app is loaded; rejects with AppLoadFailure (or on an early exit). */
  readonly ready: Promise<void>;
  /** Resolves when the thread has exited. */
  readonly exited: Promise<number>;
  mercyTimer?: NodeJS.Timeout;
  /** performance.now() before which a failed recycle is not retried. */
  recycleRetryAt = 0;
  /** The worker's own requests (OwnHttpSettings.ownState; OWN_DEADLINE, OWN_IN_FLIGHT). */
  readonly own: Float64Array;
  /** The sequence word of ownState's busy time (src/protocol/busy-clock.ts). */
  private readonly ownSeq: Int32Array;
  /** The requests it is running (read when it is too stuck to answer them). */
  readonly requestTable: RequestTable;
  /** The shared sockets were copied and sent to it. */
  listening = false;
  /** Where the worker counts its open connections (OwnHttpSettings.connections). */
  connectionsCell: { cells: Int32Array; index: number } | null = null;

  constructor(
    readonly slot: number,
    boot: WorkerBoot,
    heapLimitMb: number,
    onMessage: (h: WorkerHandle, m: WorkerMessage) => void,
  ) {
    this.own = new Float64Array(boot.ownHttp.ownState);
    this.ownSeq = new Int32Array(boot.ownHttp.ownState);
    this.requestTable = new RequestTable(boot.ownHttp.requestTable);
    this.thread = new Worker(ENTRY, {
      workerData: boot,
      resourceLimits: { maxOldGenerationSizeMb: heapLimitMb },
      name: boot.threadName,
    });
    this.threadId = this.thread.threadId;
    let settle: { ok: () => void; fail: (e: Error) => void };
    this.ready = new Promise<void>((ok, fail) => { settle = { ok, fail }; });
    this.ready.catch(() => {}); // observed by whoever waits; never an unhandled rejection
    this.exited = new Promise<number>((done) => this.thread.once('exit', done));
    this.thread.on('message', (m: WorkerMessage) => {
      if (m[0] === READY) {
        this.state = 'ready';
        this.readyAt = performance.now();
        settle.ok();
      } else if (m[0] === LOAD_FAILED) {
        settle.fail(new AppLoadFailure(m[1], m[2]));
      } else {
        onMessage(this, m);
      }
    });
    this.thread.on('error', (err) => { this.lastError = err; });
    this.thread.once('exit', (code) => {
      this.exitCode = code;
      const why = this.lastError ? `${this.lastError.message}` : `exited with code ${code}`;
      settle.fail(new AppLoadFailure('threw', `worker ${slot} died while loading the app: ${why}`));
      this.state = 'dead';
    });
  }

  /** Requests in flight (the worker accepted them itself) and handler runs. */
  get requestsInFlight(): number {
    return this.runs.size + this.ownInFlight;
  }

  /** The requests in flight that the worker accepted itself. */
  get ownInFlight(): number {
    return this.own[OWN_IN_FLIGHT]!;
  }

  /** The client connections this worker holds open. */
  get openConnections(): number {
    const c = this.connectionsCell;
    return c ? Math.max(0, Atomics.load(c.cells, c.index)) : 0;
  }

  /** Milliseconds this worker has spent with at least one request in flight, up to `now` (busy-clock.ts monoMs()). */
  ownBusyMs(now?: number): number {
    return readBusyMs(this.own, this.ownSeq, now);
  }
}
