// Full reload, the new process's side: started with HANDOVER_ENV by the old process (or the
// supervising parent), it loads its app, asks for the listening sockets, keeps each handle it
// receives as its own socket's keeper (no bind, no listen), and says when it serves.
// The whole sequence: src/master/full-reload/recycler.ts.
import { lstatSync } from 'node:fs';
import type { Log } from '../../log/logger.js';
import type { InheritedSocket } from '../../front/inherit.js';
import type { OwnedSocket } from '../owned-files.js';
import { SpindleError } from '../../errors.js';
import { HANDOVER_ENV, type SocketMeta, type ToNewServer, type ToOldServer } from '../../protocol/handover.js';

type Kind = SocketMeta['kind'];
/** A socket the new process took over: its file's inode is recorded once the handover completes. */
type AdoptedSocket = { url: string } & OwnedSocket;
const keyOf = (kind: Kind, spec: string): string => `${kind} ${spec}`;

/** The new process's side of a handover: present when started by a full reload. */
export class HandoverClient {
  private readonly queue: { msg: ToNewServer; handle?: object }[] = [];
  private wake: (() => void) | null = null;
  private gone = false;
  private readonly inherited = new Map<string, InheritedSocket>();
  private readonly taken: InheritedSocket[] = [];
  private adoptedListeners: AdoptedSocket[] = [];
  private done = false;

  /** keepChannel: the IPC channel is the supervising parent's, which outlives the handover. */
  private constructor(readonly oldPid: number, readonly reason: string, private readonly log: Log, private readonly keepChannel: boolean) {}

  /** The handover client when this process was started by a full reload (or a restart), else null. */
  static fromEnv(log: Log, keepChannel: boolean): HandoverClient | null {
    const marker = process.env[HANDOVER_ENV];
    if (marker === undefined) return null;
    delete process.env[HANDOVER_ENV]; // never inherited by workers, crons or a later reload
    if (!process.send) {
      log.warn({ event: 'FULL_RELOAD_NO_IPC', [HANDOVER_ENV]: marker }, 'full reload marker without an IPC channel: starting normally');
      return null;
    }
    const i = marker.indexOf(':');
    return new HandoverClient(Number(i < 0 ? marker : marker.slice(0, i)), i < 0 ? 'unknown' : marker.slice(i + 1), log, keepChannel);
  }

  private readonly onMessage = (msg: unknown, handle?: unknown): void => {
    if (!msg || typeof msg !== 'object' || !('spindle' in msg)) return;
    this.queue.push({ msg: msg as ToNewServer, handle: (handle ?? undefined) as object | undefined });
    this.wake?.();
  };

  private readonly onDisconnect = (): void => {
    this.gone = true;
    this.wake?.();
  };

  private listen(on: boolean): void {
    if (on) {
      process.on('message', this.onMessage);
      process.on('disconnect', this.onDisconnect);
    } else {
      process.off('message', this.onMessage);
      process.off('disconnect', this.onDisconnect);
    }
  }

  private async next(what: string): Promise<{ msg: ToNewServer; handle?: object }> {
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      if (this.gone) throw new SpindleError('RELOAD_FAILED', `full reload: the previous process (${this.oldPid}) went away while this one waited for ${what}`);
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = null;
    }
  }

  private send(msg: ToOldServer): Promise<void> {
    return new Promise((resolve) => {
      if (!process.connected || !process.send) { resolve(); return; }
      process.send(msg, undefined, {}, () => resolve());
    });
  }

  /** Workers are ready: ask for the sockets and wait for them. */
  async receive(): Promise<void> {
    this.listen(true);
    await this.send({ spindle: 'ready' });
    const head = await this.next('the list of sockets');
    if (head.msg.spindle !== 'sockets') throw new SpindleError('RELOAD_FAILED', `full reload: unexpected message ${JSON.stringify(head.msg)}`);
    const list = head.msg.list;
    for (let n = 0; n < list.length; n++) {
      const m = await this.next('a listening socket');
      if (m.msg.spindle !== 'socket' || !m.handle) throw new SpindleError('RELOAD_FAILED', `full reload: expected a socket handle, got ${JSON.stringify(m.msg)}`);
      const meta = list[m.msg.index]!;
      this.inherited.set(keyOf(meta.kind, meta.spec), { handle: m.handle, url: meta.url, host: meta.host, port: meta.port, unixPath: meta.unixPath });
    }
    this.log.info({ event: 'FULL_RELOAD_SOCKETS_RECEIVED', sockets: list.map((s) => s.url), oldPid: this.oldPid }, 'full reload: received the listening sockets');
  }

  /** The inherited socket for this listener, if the old process had it. */
  take(kind: Kind, spec: string): InheritedSocket | undefined {
    const s = this.inherited.get(keyOf(kind, spec));
    if (s) {
      this.inherited.delete(keyOf(kind, spec));
      this.taken.push(s);
    }
    return s;
  }

  /**
   * Keeping every shared socket: tell the old
   * process, wait until it released its stats server.
   */
  async adopted(listeners: readonly AdoptedSocket[]): Promise<void> {
    this.adoptedListeners = listeners.filter((l) => this.taken.some((t) => t.url === l.url));
    if (this.inherited.size) {
      this.log.warn({ event: 'FULL_RELOAD_SOCKETS_DROPPED', sockets: [...this.inherited.values()].map((s) => s.url) }, 'full reload: the new configuration no longer has these sockets; the old process closes them');
      // our copies too, or the sockets would stay open (and queue connections nobody accepts)
      for (const s of this.inherited.values()) (s.handle as { close?: () => void }).close?.();
      this.inherited.clear();
    }
    await this.send({ spindle: 'adopted', urls: this.taken.map((t) => t.url) });
    const m = await this.next('the release of the stats server');
    if (m.msg.spindle !== 'released') throw new SpindleError('RELOAD_FAILED', `full reload: unexpected message ${JSON.stringify(m.msg)}`);
  }

  /** Serving: the sockets (and their vacuum) are ours now; drop the channel. */
  async serving(): Promise<void> {
    if (this.done) return;
    this.done = true;
    for (const l of this.adoptedListeners) {
      if (l.unixPath) {
        try { l.unixIno = lstatSync(l.unixPath).ino; } catch { /* removed by someone: vacuum leaves it */ }
      }
    }
    await this.send({ spindle: 'serving', pid: process.pid });
    this.listen(false);
    this.log.info({ event: 'FULL_RELOAD_TOOK_OVER', reason: this.reason, oldPid: this.oldPid, newPid: process.pid }, 'full reload: this process took over');
    if (process.connected && !this.keepChannel) process.disconnect();
  }

  /** Start-up failed: say why before exiting (the old process logs it and keeps serving). */
  async failed(reason: string): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.send({ spindle: 'failed', reason });
    this.listen(false);
    if (process.connected && !this.keepChannel) process.disconnect();
  }
}
