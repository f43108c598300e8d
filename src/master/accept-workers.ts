// The master's side of the workers accepting: the shared sockets and a copy of them for every worker that
// becomes ready, the settings each worker serves HTTP with, the requests the workers report
// (in batches, and lost ones when a stuck worker is terminated) folded into the master's counts,
// and the kernel's accept queue of the sockets (the cheaper's backlog).
import type { ControlMessage, ListenFd, OwnHttpSettings, SocketKind } from '../protocol/worker.js';
import type { InheritedSocket } from '../front/inherit.js';
import { BYTES, EXCEPTION, MS, SERVED_STRIDE, STATUS } from '../protocol/served-batch.js';
import { LISTEN, OWN_STATE_BYTES } from '../protocol/worker.js';
import { REQUEST_TABLE_BYTES } from '../protocol/request-table.js';
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { listenOnDescriptor } from '../front/descriptor-listener.js';
import type { HttpServerOptions } from '../front/listeners.js';
import { SharedSockets, type DescriptorCopier } from './shared-sockets.js';
import { KernelBacklog } from './kernel-backlog.js';
import type { Log } from '../log/logger.js';
import type { SharedCore } from '../shm/layout.js';
import type { ServerSettings } from './settings.js';
import type { Supervisor } from './supervisor.js';
import type { RequestObserver } from './stats.js';
import type { WorkerHandle } from './worker-handle.js';

/** What WorkerAccept uses of the server (SpindleServer, master/server.ts, which owns it). */
export interface AcceptHost {
  readonly settings: ServerSettings;
  readonly log: Log;
  readonly core: SharedCore;
  readonly supervisor: Pick<Supervisor, 'routable' | 'requestDone' | 'harakiris'>;
  readonly observer: Pick<RequestObserver, 'observe'>;
  requestsTotal: number;
  /** The supervising parent copies descriptors when there is one (else a broker process does). */
  readonly parent?: DescriptorCopier;
}

export class WorkerAccept {
  readonly sockets: SharedSockets;
  /** Every address is bound: workers get their copies from now on. */
  private bound = false;
  /** need-app = false without an app: the master's own servers on the shared sockets. */
  private standIns: Server[] = [];
  /** OwnHttpSettings.connections: two cells per slot, since a recycle overlaps two workers. */
  private readonly connections: Int32Array;
  private queues: KernelBacklog | null = null;
  private queuesFailed = false;

  constructor(private readonly server: AcceptHost) {
    this.sockets = new SharedSockets(server.settings.backlogLimit, { mode: server.settings.chmodSocket, owner: server.settings.chownSocket }, server.log, server.parent);
    // libuv's accept loop takes every queued connection in one go, so a burst of connects lands on
    // whichever worker woke first; with this set, it yields after each accept and the other
    // workers take their part. Read once, at the process's first TCP listen (a host that
    // embeds start() after listening itself keeps its own setting).
    process.env['UV_TCP_SINGLE_ACCEPT'] ??= '1';
    this.connections = new Int32Array(new SharedArrayBuffer(4 * 2 * (server.settings.processes + 1))).fill(-1);
  }

  /** What a worker needs to serve its own HTTP connections (part of its WorkerBoot). */
  bootSettings(): OwnHttpSettings {
    const s = this.server.settings;
    return {
      maxHeaderBytes: s.maxHeaderBytes, socketTimeoutMs: s.socketTimeoutMs, maxBodyBytes: s.maxBodyBytes,
      requestReadTimeoutMs: s.requestReadTimeoutMs,
      backlog: s.backlogLimit, harakiriMs: s.harakiriMs, harakiriGraceMs: s.harakiriGraceMs,
      requestLog: { logRequests: s.logRequests, log4xx: s.log4xx, log5xx: s.log5xx, logSlowMs: s.logSlowMs },
      concurrency: s.concurrency,
      connections: this.connections.buffer as SharedArrayBuffer,
      ownState: new SharedArrayBuffer(OWN_STATE_BYTES),
      requestTable: new SharedArrayBuffer(REQUEST_TABLE_BYTES),
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
      this.server.log.error({ event: 'SOCKET_COPY_FAILED', worker: h.slot, err }, 'could not copy the listening sockets for this worker; it serves no HTTP until it is replaced');
      return;
    }
    // Not to a worker told to stop meanwhile (a shutdown while the app loaded): it would start
    // accepting after its stop, and never finish it.
    if (h.state !== 'ready') {
      this.sockets.discard(fds);
      return;
    }
    const cell = this.connections.indexOf(-1);
    if (cell >= 0) {
      Atomics.store(this.connections, cell, 0); // taken; the worker keeps its count there
      h.connectionsCell = { cells: this.connections, index: cell };
      void h.exited.then(() => Atomics.store(this.connections, cell, -1));
    }
    h.thread.postMessage([LISTEN, fds, cell]);
  }

  /** The requests a worker accepted and served itself, reported in a batch. */
  served(h: WorkerHandle, c: Extract<ControlMessage, { kind: 'served' }>): void {
    const { observer, core, supervisor } = this.server;
    const r = c.requests;
    const n = r.length / SERVED_STRIDE;
    core.scoreboard.requestsServedByWorker(h.slot - 1, (count) => {
      for (let at = 0; at < r.length; at += SERVED_STRIDE) {
        observer.observe(r[at + STATUS]!, r[at + MS]!);
        count(r[at + MS]!, r[at + BYTES]!, r[at + EXCEPTION] === 1);
      }
    });
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
   * need-app = false and no app loaded: the master accepts on the shared sockets itself (its
   * handler answers 503 with the reason) until a reload loads the app and the workers take over.
   */
  async standIn(opts: HttpServerOptions): Promise<void> {
    const fds = await this.sockets.forWorker();
    for (const fd of fds) this.standIns.push(listenOnDescriptor(fd, opts, this.server.settings.backlogLimit));
  }

  /** The workers accept now: the master's stand-in servers close (and with them their descriptors). */
  endStandIn(): void {
    for (const s of this.standIns) {
      NetServer.prototype.close.call(s); // not http's close: its idle connections get their answer first
      s.closeIdleConnections();
    }
    this.standIns = [];
  }

  /**
   * Connections waiting in the kernel for a worker to accept them: the longest accept queue of the
   * shared sockets (TCP only; see kernel-backlog.ts). 0 before they are bound, and where /proc
   * cannot be read (said once in the log).
   */
  kernelBacklog(): number {
    const sockets = this.sockets.sockets;
    if (!this.bound || sockets.length === 0) return 0;
    if (this.queues === null) this.queues = new KernelBacklog(sockets.flatMap((s) => (s.port !== undefined ? [{ host: s.host!, port: s.port }] : [])));
    const n = this.queues.read();
    if (!this.queues.available && !this.queuesFailed) {
      this.queuesFailed = true;
      this.server.log.warn({ event: 'ACCEPT_QUEUE_UNREADABLE', error: this.queues.error }, 'cannot read the kernel accept queue of the listening sockets; the cheaper sees no backlog from them');
    }
    return n;
  }

  /** Shutdown, after every worker has exited. */
  close(): void {
    this.endStandIn();
    this.sockets.close();
  }
}
