// accept = workers, the master's side: the shared sockets and a copy of them for every worker that
// becomes ready, the settings each worker serves HTTP with, and the requests the workers report
// (in batches, and lost ones when a stuck worker is terminated) folded into the master's counts.
import type { ControlMessage, ListenFd, OwnHttpSettings, SocketKind } from '../worker/protocol.js';
import type { InheritedSocket } from '../front/inherit.js';
import { LISTEN } from '../worker/protocol.js';
import type { RequestOutcome } from '../shm/scoreboard.js';
import { SharedSockets } from './shared-sockets.js';
import type { SpindleServer } from './server.js';
import type { WorkerHandle } from './worker-handle.js';

export class WorkerAccept {
  readonly sockets: SharedSockets;
  /** Every address is bound: workers get their copies from now on. */
  private bound = false;

  constructor(private readonly server: SpindleServer) {
    this.sockets = new SharedSockets(server.settings.backlogLimit, server.settings.chmodSocket, server.log);
  }

  /** What a worker needs to serve its own HTTP connections (part of its WorkerBoot). */
  bootSettings(): OwnHttpSettings {
    const s = this.server.settings;
    return {
      maxHeaderBytes: s.maxHeaderBytes, socketTimeoutMs: s.socketTimeoutMs, maxBodyBytes: s.maxBodyBytes,
      backlog: s.backlogLimit, harakiriMs: s.harakiriMs, harakiriGraceMs: s.harakiriGraceMs,
      requestLog: { logRequests: s.logRequests, log4xx: s.log4xx, log5xx: s.log5xx, logSlowMs: s.logSlowMs },
      ownState: new SharedArrayBuffer(16),
    };
  }

  /**
   * Binds every address, then gives the workers already running their copies. Started by a full
   * reload: `inherit` has the previous process's socket for an address, which is adopted instead.
   */
  async open(specs: { kind: SocketKind; spec: string }[], inherit?: (kind: SocketKind, spec: string) => InheritedSocket | undefined): Promise<void> {
    for (const { kind, spec } of specs) {
      const inherited = inherit?.(kind, spec);
      if (inherited) this.sockets.adopt(kind, spec, inherited);
      else await this.sockets.open(kind, spec);
    }
    this.bound = true;
    for (const h of this.server.supervisor.routable()) void this.give(h);
  }

  /** Copies of the shared sockets for a worker that is ready to serve (once per worker). */
  async give(h: WorkerHandle): Promise<void> {
    if (!this.bound || h.listening) return; // open() gives them once all are bound
    h.listening = true;
    let fds: ListenFd[];
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

  /** Shutdown, after every worker has exited. */
  close(): void {
    this.sockets.close();
  }
}
