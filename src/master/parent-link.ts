// The server's side of the supervising parent (src/parent/parent.ts): present when the `spindle`
// command runs the server under it (the default; option `supervise`).
//
// - Once serving, the server sends the parent a descriptor of every listening socket, so the
//   sockets outlive a crash of this process.
// - A full reload asks the parent to start the successor (so the parent supervises whichever
//   process serves) and talks to it through the parent: Successor stands in for the ChildProcess.
// - The pidfile names the parent, which forwards signals.
// - If the parent dies, nothing would restart this process or forward signals to it: it stops.
import { EventEmitter } from 'node:events';
import type { Log } from '../log/logger.js';
import type { DescriptorCopier, RawHandle } from './shared-sockets.js';
import { SUPERVISED_ENV, isParentMessage, type ParentToServer, type ServerToParent } from '../protocol/parent.js';
import type { SocketMeta } from '../protocol/handover.js';

const PARENT_POLL_MS = 1000;

/** What the full reload uses of its new process (src/master/full-reload/hand-over.ts). */
export interface SuccessorProcess extends EventEmitter {
  readonly pid?: number;
  readonly connected: boolean;
  send(msg: object, handle: object | undefined, options: object, cb: (err: Error | null) => void): void;
  unref(): void;
  disconnect(): void;
}

const post = (msg: ServerToParent, handle?: object): Promise<void> => new Promise((resolve, reject) => {
  if (!process.send || !process.connected) { reject(new Error('the supervising parent is gone')); return; }
  process.send(msg, handle as never, {}, (err: Error | null) => (err ? reject(err) : resolve()));
});

/** The successor of a full reload, started by the parent; its messages are relayed by it. */
class Successor extends EventEmitter implements SuccessorProcess {
  connected = true;
  constructor(readonly pid: number) { super(); }

  send(msg: object, handle: object | undefined, _options: object, cb: (err: Error | null) => void): void {
    if (!this.connected) { cb(new Error('the new process closed its channel')); return; }
    post({ spindleParent: 'to-successor', msg }, handle).then(() => cb(null), cb);
  }

  unref(): void { /* the parent owns it */ }

  disconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    void post({ spindleParent: 'detach-successor' }).catch(() => { /* parent gone */ });
  }
}

export class ParentLink implements DescriptorCopier {
  private successor: Successor | null = null;
  private copySeq = 0;
  private readonly copies = new Map<number, { resolve: (h: RawHandle) => void; reject: (e: Error) => void }>();
  private spawning: { resolve: (s: Successor) => void; reject: (e: Error) => void } | null = null;

  private constructor(readonly parentPid: number, private readonly log: Log) {}

  /** The link when this process runs under a supervising parent, else null. */
  static fromEnv(log: Log): ParentLink | null {
    const pid = Number(process.env[SUPERVISED_ENV]);
    delete process.env[SUPERVISED_ENV]; // never inherited by workers or crons
    if (!pid || !process.send) return null;
    return new ParentLink(pid, log);
  }

  /** Listens to the parent; `onGone` is called if the parent dies while this process runs. */
  attach(onGone: () => void): void {
    process.on('message', (m: unknown, handle?: RawHandle) => { if (isParentMessage(m)) this.onMessage(m as ParentToServer, handle); });
    let gone = false;
    const check = () => {
      if (gone) return;
      gone = true;
      clearInterval(poll);
      for (const w of this.copies.values()) w.reject(new Error('the supervising parent is gone'));
      this.copies.clear();
      this.log.error({ event: 'PARENT_GONE', parentPid: this.parentPid }, 'the supervising parent is gone: nothing would restart this process or pass signals on; shutting down gracefully');
      onGone();
    };
    process.on('disconnect', check);
    // Node holds back 'disconnect' while a handle it sent awaits the parent's acknowledgement, which
    // a killed parent never sends; being re-parented says the same, always.
    const poll = setInterval(() => { if (process.ppid !== this.parentPid) check(); }, PARENT_POLL_MS);
    poll.unref();
    process.channel?.unref(); // the channel never keeps this process alive
  }

  private onMessage(m: ParentToServer, handle?: RawHandle): void {
    switch (m.spindleParent) {
      case 'copied': {
        const w = this.copies.get(m.seq);
        this.copies.delete(m.seq);
        if (handle) w?.resolve(handle);
        else w?.reject(new Error('the supervising parent returned no handle'));
        break;
      }
      case 'successor-spawned':
        this.successor = new Successor(m.pid);
        this.spawning?.resolve(this.successor);
        break;
      case 'successor-failed':
        this.spawning?.reject(new Error(m.error));
        break;
      case 'from-successor':
        this.successor?.emit('message', m.msg);
        break;
      case 'successor-exit': {
        const s = this.successor;
        this.successor = null;
        if (s) { s.connected = false; s.emit('exit', m.code, m.signal); }
        break;
      }
    }
    if (m.spindleParent === 'successor-spawned' || m.spindleParent === 'successor-failed') this.spawning = null;
  }

  /** A new descriptor for the socket behind `handle`, echoed by the parent (DescriptorCopier). */
  copy(handle: RawHandle): Promise<RawHandle> {
    const seq = ++this.copySeq;
    return new Promise((resolve, reject) => {
      this.copies.set(seq, { resolve, reject });
      post({ spindleParent: 'copy', seq }, handle).catch((err: Error) => {
        this.copies.delete(seq);
        reject(err);
      });
    });
  }

  /** DescriptorCopier: nothing to stop, the parent outlives this process. */
  stop(): void {}

  /** The parent keeps a descriptor of every listening socket (sent once this process serves). */
  async hold(sockets: readonly { meta: SocketMeta; handle: object | undefined }[]): Promise<void> {
    const list = sockets.filter((s) => s.handle);
    try {
      await post({ spindleParent: 'hold', list: list.map((s) => s.meta) });
      for (let index = 0; index < list.length; index++) await post({ spindleParent: 'hold-socket', index }, list[index]!.handle);
    } catch (err) {
      this.log.error({ event: 'PARENT_HOLD_FAILED', err: (err as Error).message }, 'could not give the listening sockets to the supervising parent: after a crash the new process binds them again');
    }
  }

  /** Full reload: the parent starts the new process (same command line, with the handover marker). */
  async spawnSuccessor(reason: string): Promise<SuccessorProcess> {
    const started = new Promise<Successor>((resolve, reject) => { this.spawning = { resolve, reject }; });
    await post({ spindleParent: 'spawn-successor', reason });
    return started;
  }
}
