// accept = workers, the master's side: the shared sockets and a copy of them for every worker that
// becomes ready, the settings each worker serves HTTP with, the requests the workers report
// (in batches, and lost ones when a stuck worker is terminated) folded into the master's counts,
// and the kernel's accept queue of the sockets (the cheaper's backlog).
import type { ControlMessage, OwnHttpSettings } from '../worker/protocol.js';
import { LISTEN, OWN_STATE_BYTES } from '../worker/protocol.js';
import type { RequestOutcome } from '../shm/scoreboard.js';
import { SharedSockets } from './shared-sockets.js';
import { KernelBacklog } from './kernel-backlog.js';
import type { SpindleServer } from './server.js';
import type { WorkerHandle } from './worker-handle.js';

export class WorkerAccept {
  readonly sockets: SharedSockets;
  /** Every address is bound: workers get their copies from now on. */
  private bound = false;
  private queues: KernelBacklog | null = null;
  private queuesFailed = false;

  constructor(private readonly server: SpindleServer) {
    this.sockets = new SharedSockets(server.settings.backlogLimit, server.log);
  }

  /** What a worker needs to serve its own HTTP connections (part of its WorkerBoot). */
  bootSettings(): OwnHttpSettings {
    const s = this.server.settings;
    return {
      maxHeaderBytes: s.maxHeaderBytes, socketTimeoutMs: s.socketTimeoutMs, maxBodyBytes: s.maxBodyBytes,
      backlog: s.backlogLimit, harakiriMs: s.harakiriMs, harakiriGraceMs: s.harakiriGraceMs,
      requestLog: { logRequests: s.logRequests, log4xx: s.log4xx, log5xx: s.log5xx, logSlowMs: s.logSlowMs },
      ownState: new SharedArrayBuffer(OWN_STATE_BYTES),
    };
  }

  /** Binds every address, then gives the workers already running their copies. */
  async open(specs: string[]): Promise<void> {
    for (const spec of specs) await this.sockets.open(spec);
    this.bound = true;
    for (const h of this.server.supervisor.routable()) void this.give(h);
  }

  /** Copies of the shared sockets for a worker that is ready to serve (once per worker). */
  async give(h: WorkerHandle): Promise<void> {
    if (!this.bound || h.listening) return; // open() gives them once all are bound
    h.listening = true;
    let fds: number[];
    try {
      fds = await this.sockets.forWorker();
    } catch (err) {
      this.server.log.error({ worker: h.slot, err }, 'accept = workers: could not copy the listening sockets for this worker; it serves no HTTP until it is replaced');
      return;
    }
    if (h.state === 'ready' || h.state === 'retiring') h.thread.postMessage([LISTEN, fds]);
    else this.sockets.discard(fds);
  }

  /** The requests a worker accepted and served itself, reported in a batch. */
  served(h: WorkerHandle, c: Extract<ControlMessage, { kind: 'served' }>): void {
    const { observer, core, supervisor } = this.server;
    const n = c.status.length;
    const outcomes: RequestOutcome[] = new Array(n);
    for (let i = 0; i < n; i++) {
      observer.observe(c.status[i]!, c.ms[i]!);
      outcomes[i] = { durationMs: c.ms[i]!, txBytes: c.bytes[i]!, exception: c.exception[i] === 1 };
    }
    core.scoreboard.requestsServedByWorker(h.slot - 1, outcomes);
    for (let i = 0; i < c.harakiris; i++) core.scoreboard.harakiri(h.slot - 1);
    supervisor.harakiris += c.harakiris;
    this.server.requestsTotal += n;
    if (n > 0) supervisor.requestDone(h, n);
  }

  /** A terminated worker's own requests, whose connections closed unanswered. */
  lost(n: number): void {
    for (let i = 0; i < n; i++) this.server.observer.observe(0, this.server.settings.harakiriMs);
    this.server.requestsTotal += n;
  }

  /**
   * Connections waiting in the kernel for a worker to accept them: the longest accept queue of the
   * shared sockets (TCP only; see kernel-backlog.ts). 0 before they are bound, and where /proc
   * cannot be read (said once in the log).
   */
  kernelBacklog(): number {
    const sockets = this.sockets.sockets;
    if (!this.bound || sockets.length === 0) return 0;
    if (this.queues?.addresses.length !== sockets.length) this.queues = new KernelBacklog(sockets.map((s) => ({ host: s.host, port: s.port })));
    const n = this.queues.read();
    if (!this.queues.available && !this.queuesFailed) {
      this.queuesFailed = true;
      this.server.log.warn({ error: this.queues.error }, 'accept = workers: cannot read the kernel accept queue of the listening sockets; the cheaper sees no backlog from them');
    }
    return n;
  }

  /** Shutdown, after every worker has exited. */
  close(): void {
    this.sockets.close();
  }
}
