// The listening sockets the worker threads accept on themselves,
// every kind of them: HTTP and uwsgi, on TCP and UNIX addresses.
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
import { parseAddress, type ParsedAddress } from '../config/address.js';
import { bindUnixSocket, type SocketOwner, removeStaleSocket, type InheritedSocket } from '../front/inherit.js';
import { bindTcp, bindUnix, listenAndRelease, type ServerHandle } from './bound-socket.js';
import type { Log } from '../log/logger.js';
import { listenFailure } from './listen-failure.js';
import type { ListenFd, SocketKind } from '../protocol/worker.js';

/** A raw libuv TCP or Pipe handle as it arrives over IPC. */
export interface RawHandle {
  readonly fd: number;
  close(): void;
}

export interface SharedSocket {
  kind: SocketKind;
  /** As configured. */
  spec: string;
  /** As bound: 'http://127.0.0.1:8000', 'unix:/run/app.sock', 'uwsgi://127.0.0.1:3031', 'uwsgi+unix:/run/app.sock'. */
  url: string;
  host?: string;
  port?: number;
  unixPath?: string;
  /** Identity of the socket file we created, so vacuum never removes someone else's. */
  unixIno?: number;
  /** The master's descriptor: never listened on here, copied for every worker. */
  keeper: RawHandle;
}

const SCHEMES: Record<SocketKind, { tcp: string; unix: string }> = {
  http: { tcp: 'http://', unix: 'unix:' },
  uwsgi: { tcp: 'uwsgi://', unix: 'uwsgi+unix:' },
};

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);

/** The broker's whole program: send every handle straight back. */
const ECHO = "process.on('message', (m, h) => process.send(m, h));";
/** The broker exits after this long without a request (a reload asks for a few in a row). */
const BROKER_IDLE_MS = 5000;

/** Makes new descriptors for the socket behind a handle. */
export interface DescriptorCopier {
  copy(handle: RawHandle): Promise<RawHandle>;
  stop(): void;
}

/**
 * Copies socket descriptors through a child process, started on demand. (Under the supervising
 * parent, the parent echoes them instead, src/master/parent-link.ts: a broker orphaned by a crash
 * would stay a zombie under a parent that is PID 1, which Node cannot reap.)
 */
class DescriptorBroker implements DescriptorCopier {
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
    if (this.waiting.size > 0) this.log.error({ event: 'SOCKET_BROKER_FAILED', err: err.message }, 'the descriptor broker failed while a worker waited for its sockets');
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
  private readonly broker: DescriptorCopier;

  constructor(private readonly backlog: number, private readonly perms: { mode?: number; owner?: SocketOwner }, private readonly log: Log, copier?: DescriptorCopier) {
    this.broker = copier ?? new DescriptorBroker(log);
  }

  /**
   * Binds `spec` and keeps the socket open in the master without accepting on it. uwsgi-socket
   * ':port' means 127.0.0.1 (see src/front/uwsgi-listener.ts). A UNIX path is bound under a
   * temporary name and renamed into place with its chmod-socket mode (src/front/inherit.ts).
   */
  async open(kind: SocketKind, spec: string): Promise<SharedSocket> {
    const text = spec.trim();
    const addr = parseAddress(kind === 'uwsgi' && text.startsWith(':') ? `127.0.0.1${text}` : text);
    if (kind === 'uwsgi' && addr.kind === 'tcp' && !isLoopback(addr.host)) {
      this.log.warn({ event: 'UWSGI_SOCKET_PUBLIC', address: text }, 'uwsgi-socket on a non-loopback address: whoever can reach it can set REMOTE_ADDR, HTTPS and any header; keep it on a private network behind nginx (Spindle never loads code from uwsgi variables)');
    }
    let bound;
    try {
      bound = await this.bind(addr);
    } catch (err) {
      throw listenFailure(kind === 'http' ? 'http-socket' : 'uwsgi-socket', addr, err);
    }
    let keeper: RawHandle;
    // A bound socket that does not listen is no active handle: nothing else may keep the event
    // loop (and the process) alive while its copy travels.
    const alive = setInterval(() => {}, 60_000);
    try {
      keeper = await this.broker.copy(bound.handle);
    } catch (err) {
      bound.handle.close();
      throw err;
    } finally {
      clearInterval(alive);
    }
    try {
      listenAndRelease(bound.handle, this.backlog, text); // the keeper holds the socket now; the master never accepts on it
    } catch (err) {
      keeper.close();
      throw listenFailure(kind === 'http' ? 'http-socket' : 'uwsgi-socket', addr, err);
    }
    const schemes = SCHEMES[kind];
    const socket: SharedSocket = addr.kind === 'unix'
      ? { kind, spec, url: `${schemes.unix}${addr.path}`, unixPath: addr.path, unixIno: bound.ino, keeper }
      : { kind, spec, url: `${schemes.tcp}${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${bound.port}`, host: addr.host, port: bound.port, keeper };
    this.sockets.push(socket);
    return socket;
  }

  /**
   * Full reload, new process: the previous process's keeper (or listener), received over IPC, is
   * a descriptor of its own already: it becomes this keeper as it is, with no bind. Its UNIX file's
   * inode is recorded only when the handover completes (HandoverClient.serving()): until then
   * vacuum must leave the path alone, the previous process still serves on it.
   */
  adopt(kind: SocketKind, spec: string, from: InheritedSocket): SharedSocket {
    const socket: SharedSocket = { kind, spec, url: from.url, host: from.host, port: from.port, unixPath: from.unixPath, keeper: from.handle as RawHandle };
    this.sockets.push(socket);
    return socket;
  }

  /** Binds without listening (bound-socket.ts). */
  private async bind(addr: ParsedAddress): Promise<{ handle: ServerHandle; port: number; ino?: number }> {
    if (addr.kind === 'tcp') return bindTcp(addr.host, addr.port);
    await removeStaleSocket(addr.path);
    const bound = bindUnixSocket(addr.path, this.perms.mode, this.perms.owner, bindUnix);
    if (bound.unlinksOnClose) {
      // Closing the master's bound handle (next step) would delete the path the workers serve on.
      bound.handle.close();
      // the caller turns it into a ListenError (LISTEN_FAILED)
      throw new Error(`${addr.path}: the UNIX socket path is too long to bind under a temporary name (keep its directory under about 60 bytes)`);
    }
    return { handle: bound.handle, port: 0, ino: bound.ino };
  }

  /**
   * One new descriptor per socket, for a worker to listen on. From then on the descriptor is the
   * worker's: it closes when the worker exits, and the master must never close it (the number
   * may belong to something else by then), so the handle objects are simply dropped.
   */
  async forWorker(): Promise<ListenFd[]> {
    const handles = await Promise.all(this.sockets.map((s) => this.broker.copy(s.keeper)));
    return handles.map((h, i) => ({ fd: h.fd, kind: this.sockets[i]!.kind }));
  }

  /** Descriptors copied for a worker that exited before it could take them: not anyone's yet. */
  discard(fds: ListenFd[]): void {
    for (const { fd } of fds) {
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
