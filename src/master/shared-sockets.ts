// accept = workers: the TCP listening sockets the worker threads accept on themselves.
//
// Every worker listens on a descriptor of its own for the same socket. One shared descriptor is
// not enough: a worker's exit closes the descriptors it listens on, and closing one that other
// threads' event loops still poll aborts the whole process (node20-facts §5). Node has no dup(),
// but a handle sent over an IPC channel arrives as a new descriptor (SCM_RIGHTS), so a tiny child
// process (the broker) echoes handles back. The master keeps one descriptor, the keeper, which
// holds the socket and its accept queue open while workers come and go, and is the one copied for
// each new worker. The kernel queues connections on the socket, and whichever worker is idle
// accepts first: a busy or stuck worker takes no new connections.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { parseAddress } from '../config/address.js';
import { listen } from '../front/inherit.js';
import type { Log } from '../log/logger.js';

/** A raw libuv TCP handle as it arrives over IPC. */
interface RawHandle {
  readonly fd: number;
  close(): void;
}

export interface SharedSocket {
  /** As configured. */
  spec: string;
  /** As bound: 'http://127.0.0.1:8000'. */
  url: string;
  host: string;
  port: number;
  keeper: RawHandle;
}

/** The broker's whole program: send every handle straight back. */
const ECHO = "process.on('message', (m, h) => process.send(m, h));";
/** The broker exits after this long without a request (a reload asks for a few in a row). */
const BROKER_IDLE_MS = 5000;

/** Copies socket descriptors through a child process, started on demand. */
class DescriptorBroker {
  private child: ChildProcess | null = null;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (h: RawHandle) => void; reject: (e: Error) => void }>();
  private idle?: NodeJS.Timeout;
  /** stop() was called while copies were on their way: it disconnects once they have arrived. */
  private stopping = false;

  constructor(private readonly log: Log) {}

  /** A new descriptor for the socket behind `handle`. */
  copy(handle: RawHandle): Promise<RawHandle> {
    const child = this.child ?? this.startChild();
    if (this.idle) clearTimeout(this.idle);
    const seq = ++this.seq;
    return new Promise<RawHandle>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      child.send(seq, handle as never, (err) => {
        if (err) this.settle(seq, null, err);
      });
    });
  }

  private startChild(): ChildProcess {
    const child = spawn(process.execPath, ['-e', ECHO], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, NODE_OPTIONS: '' }, // no preloads or inspector flags meant for the server
    });
    this.child = child;
    child.on('message', (seq: number, handle?: RawHandle) => {
      this.settle(seq, handle ?? null, handle ? undefined : new Error('the descriptor broker returned no handle'));
    });
    child.on('error', (err) => this.failAll(child, err));
    child.on('exit', (code, signal) => this.failAll(child, new Error(`the descriptor broker exited (${signal ?? `code ${code}`})`)));
    // It must never keep the master alive.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    return child;
  }

  private settle(seq: number, handle: RawHandle | null, err?: Error): void {
    const w = this.waiting.get(seq);
    if (!w) return;
    this.waiting.delete(seq);
    if (handle) w.resolve(handle);
    else w.reject(err ?? new Error('no handle'));
    if (this.waiting.size === 0) {
      if (this.stopping) return this.stop();
      this.idle = setTimeout(() => this.stop(), BROKER_IDLE_MS);
      this.idle.unref();
    }
  }

  private failAll(child: ChildProcess, err: Error): void {
    if (this.child !== child) return;
    this.child = null;
    if (this.waiting.size > 0) this.log.error({ err: err.message }, 'the descriptor broker failed while a worker waited for its sockets');
    for (const [seq] of this.waiting) this.settle(seq, null, err);
  }

  stop(): void {
    if (this.idle) clearTimeout(this.idle);
    // A handle still on its way back must arrive first: Node acknowledges a received handle on the
    // channel, and doing so on a disconnected one fails an internal assertion (uncaught exception).
    this.stopping = this.waiting.size > 0;
    if (this.stopping) return;
    const child = this.child;
    this.child = null;
    if (child?.connected) child.disconnect(); // its only handle on life: it exits
  }
}

export class SharedSockets {
  readonly sockets: SharedSocket[] = [];
  private readonly broker: DescriptorBroker;

  constructor(private readonly backlog: number, log: Log) {
    this.broker = new DescriptorBroker(log);
  }

  /** Binds `spec` (host:port) and keeps the socket open in the master without accepting on it. */
  async open(spec: string): Promise<SharedSocket> {
    const addr = parseAddress(spec);
    if (addr.kind === 'unix') throw new Error(`${spec}: accept = workers serves TCP addresses only`);
    const server = createServer();
    await listen(server, { host: addr.host, port: addr.port, backlog: this.backlog });
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : addr.port;
    let keeper: RawHandle;
    try {
      keeper = await this.broker.copy((server as unknown as { _handle: RawHandle })._handle);
    } finally {
      server.close(); // the keeper holds the socket now; the master never accepts on it
    }
    const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
    const socket = { spec, url: `http://${host}:${port}`, host: addr.host, port, keeper };
    this.sockets.push(socket);
    return socket;
  }

  /**
   * One new descriptor per socket, for a worker to listen on. From then on the descriptor is the
   * worker's: it closes when the worker exits, and the master must never close it (the number
   * may belong to something else by then), so the handle objects are simply dropped.
   */
  async forWorker(): Promise<number[]> {
    const handles = await Promise.all(this.sockets.map((s) => this.broker.copy(s.keeper)));
    return handles.map((h) => h.fd);
  }

  /** Descriptors copied for a worker that exited before it could take them: not anyone's yet. */
  discard(fds: number[]): void {
    for (const fd of fds) {
      try {
        closeSync(fd);
      } catch { /* already closed */ }
    }
  }

  /** Shutdown, after every worker has exited: the port is free again. */
  close(): void {
    this.broker.stop();
    for (const s of this.sockets) s.keeper.close();
  }
}
