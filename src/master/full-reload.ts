// Full reload (process-level recycling): a fresh Spindle process takes over the listening sockets,
// then the old one drains and exits. uWSGI re-execs its master keeping the sockets; nginx's binary
// upgrade starts a new master with the inherited sockets (SIGUSR2) and retires the old one. Node
// cannot exec in place, so the old process starts the new one as a detached child and hands the
// sockets over its IPC channel (SCM_RIGHTS), which also lets it keep serving if the new one fails.
//
//   old                                              new (same argv/cwd/env + _SPINDLE_HANDOVER_FROM)
//   spawn (own process group, stdout/stderr shared) → loads the config and the app in its workers
//                                                   ← ready
//   saves cache2 stores; sends every listening
//   socket handle (TCP and UNIX)                    → restores the stores, listens on the handles
//                                                     (both processes accept for a moment)
//     the handle sent is each shared socket's keeper; the new process keeps the
//     one it receives as its own keeper (no bind, no listen) and gives its workers copies of it
//                                                   ← adopted
//   closes its stats server (the address is reused) → released
//                                                     writes the pidfile, master-fifo, stats
//                                                   ← serving      (then drops the IPC channel)
//   stops accepting (its copies of the listening descriptors are closed; the sockets stay open in
//   the new process, so nothing is refused), answers every further request on its keep-alive
//   connections with `Connection: close`, drains in-flight requests within worker-reload-mercy,
//   exits 0. Its workers stop (each closes its descriptors and drains, see
//   OwnHttp.stop()), then its keepers are closed; vacuum skips the handed-over sockets.
//
// If the new process exits, fails or is not serving within full-reload-timeout, the old one kills
// it (its whole process group), keeps serving, rewrites the pidfile and logs why.
//
// UNIX sockets: the old process must not unlink the path when it closes its descriptor; see
// src/front/inherit.ts (sockets are bound under a temporary name and renamed into place).
import { spawn } from 'node:child_process';
import { lstatSync } from 'node:fs';
import type { Log } from '../log/logger.js';
import type { InheritedSocket } from '../front/inherit.js';
import type { SharedSocket } from './shared-sockets.js';
import type { OwnedSocket } from './owned-files.js';
import { writePidfile } from './pidfile.js';
import type { ServerSettings } from './settings.js';
import type { CacheStores } from './cache-stores.js';
import { TouchFiles } from './touch-files.js';
import { SpindleError } from '../errors.js';
import type { ParentLink, SuccessorProcess } from './parent-link.js';
import { HANDOVER_ENV, type SocketMeta } from '../protocol/parent.js';

// Captured when the module loads, before the server changes directory (chdir) or sets `env`.
const ORIGINAL_CWD = process.cwd();
const ORIGINAL_ENV: NodeJS.ProcessEnv = { ...process.env };
delete ORIGINAL_ENV[HANDOVER_ENV];

type Kind = SocketMeta['kind'];
type ToChild =
  | { spindle: 'sockets'; list: SocketMeta[] }
  | { spindle: 'socket'; index: number }
  | { spindle: 'released' };
type ToParent =
  | { spindle: 'ready' }
  /** urls: the sockets it took (the others are no longer configured: this process closes and vacuums them) */
  | { spindle: 'adopted'; urls?: string[] }
  | { spindle: 'serving'; pid: number }
  | { spindle: 'failed'; reason: string };

/** A socket the new process took over: its file's inode is recorded once the handover completes. */
type AdoptedSocket = { url: string } & OwnedSocket;
/** One socket to hand over: a shared socket's keeper descriptor. */
interface Outgoing { meta: SocketMeta; handle: object | undefined; owned: OwnedSocket }

export function outgoingSockets(shared: readonly SharedSocket[]): Outgoing[] {
  return shared.map((s) => ({
    meta: { kind: s.kind, spec: s.spec, url: s.url, host: s.host, port: s.port, unixPath: s.unixPath },
    handle: s.keeper as object,
    owned: s,
  }));
}
const keyOf = (kind: Kind, spec: string): string => `${kind} ${spec}`;

// ---- the new process ------------------------------------------------------------------------

/** The new process's side of a handover: present when started by a full reload. */
export class HandoverClient {
  private readonly queue: { msg: ToChild; handle?: object }[] = [];
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
    this.queue.push({ msg: msg as ToChild, handle: (handle ?? undefined) as object | undefined });
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

  private async next(what: string): Promise<{ msg: ToChild; handle?: object }> {
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      if (this.gone) throw new SpindleError('RELOAD_FAILED', `full reload: the previous process (${this.oldPid}) went away while this one waited for ${what}`);
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = null;
    }
  }

  private send(msg: ToParent): Promise<void> {
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

// ---- the old process (and the triggers) -----------------------------------------------------

/** What the recycler needs of the server (src/master/server.ts). */
export interface RecyclableServer {
  readonly settings: ServerSettings;
  /** The listening sockets (their keepers are handed over). */
  readonly sharedSocketList: readonly SharedSocket[];
  readonly cacheStores: CacheStores;
  observation(): { shuttingDown: boolean; serving: boolean };
  reload(): Promise<boolean>;
  releaseStatsServer(): Promise<void>;
  handOver(keep: readonly OwnedSocket[]): void;
  close(opts: { graceful: boolean }): Promise<void>;
}

export interface RecyclerOptions {
  /** start() embedding: no full reload (it would replace the host process); chain reload only. */
  embedded?: boolean;
  /** Called once the old process has drained after a successful full reload. */
  onRetired?: () => void;
  /** Under the supervising parent: it starts the new process, and the pidfile names it. */
  parent?: ParentLink;
}

const CHECK_MS = 1000;
/** After a failed automatic full reload (memory, lifetime, touch), wait this long before retrying. */
const RETRY_MS = 60_000;

export class ProcessRecycler {
  private timer?: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  private readonly touchFull: TouchFiles;
  private readonly touchChain: TouchFiles;
  private busy = false;
  private retired = false;
  private nextAutoAt = 0;

  constructor(private readonly server: RecyclableServer, private readonly log: Log, private readonly opts: RecyclerOptions = {}) {
    const p = server.settings.processRecycle;
    this.touchFull = new TouchFiles(p.touchReload);
    this.touchChain = new TouchFiles(p.touchChainReload);
  }

  /** The periodic checks: process RSS, process lifetime, touch files (once a second). */
  start(): void {
    const p = this.server.settings.processRecycle;
    const rssSet = p.rssBytes > 0 && !p.rssDefault;
    if (this.opts.embedded && (rssSet || p.lifetimeMs || p.touchReload.length)) {
      this.log.warn({ event: 'FULL_RELOAD_UNAVAILABLE' }, 'reload-on-process-rss, max-process-lifetime and touch-reload replace the whole process (a full reload), which an embedded server (start()) cannot do: ignored; run the spindle command to use them');
    }
    if (!this.opts.embedded && process.pid === 1 && (rssSet || p.lifetimeMs || p.touchReload.length)) {
      this.log.warn({ event: 'FULL_RELOAD_UNAVAILABLE' }, 'reload-on-process-rss, max-process-lifetime and touch-reload do nothing while Spindle is PID 1 (a container): a full reload would end the container; rely on worker recycling and the orchestrator');
    }
    this.timer = setInterval(() => this.check(), CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    if (this.server.observation().shuttingDown) { this.stop(); return; }
    const chain = this.touchChain.touched();
    if (chain.length) {
      this.log.info({ event: 'TOUCH_CHAIN_RELOAD', files: chain }, 'touch-chain-reload: file touched, reloading the workers one at a time');
      void this.server.reload();
    }
    const full = this.touchFull.touched();
    if (this.opts.embedded || (process.pid === 1 && !full.length)) return; // PID 1: warned at start
    const p = this.server.settings.processRecycle;
    if (this.busy || Date.now() < this.nextAutoAt) return;
    let reason = '';
    let detail: Record<string, unknown> = {};
    if (full.length) {
      reason = 'touch-reload';
      detail = { files: full };
    } else if (p.rssBytes > 0) {
      const rss = processRss();
      if (rss > p.rssBytes) {
        reason = 'reload-on-process-rss';
        detail = { rssMb: Math.round(rss / 1048576), limitMb: Math.round(p.rssBytes / 1048576) };
      }
    }
    if (!reason && p.lifetimeMs > 0 && Date.now() - this.startedAt >= p.lifetimeMs) {
      reason = 'max-process-lifetime';
      detail = { livedS: Math.round((Date.now() - this.startedAt) / 1000), limitS: p.lifetimeMs / 1000 };
    }
    if (!reason) return;
    this.log.info({ event: 'FULL_RELOAD_AUTO', reason, ...detail }, `${reason}: full reload`);
    void this.fullReload(reason).then((ok) => {
      if (!ok) {
        this.nextAutoAt = Date.now() + RETRY_MS;
        this.log.warn({ event: 'FULL_RELOAD_RETRY', reason, retryInS: RETRY_MS / 1000 }, 'full reload failed; the trigger is checked again later');
      }
    });
  }

  /**
   * Replace this process by a new one that takes over the listening sockets. Resolves true once
   * the new process serves (this one then drains and exits), false when it could not (this one
   * keeps serving; the reason is logged).
   */
  async fullReload(reason: string): Promise<boolean> {
    if (this.opts.embedded) {
      this.log.error({ event: 'FULL_RELOAD_UNAVAILABLE', reason }, 'full reload: not available to an embedded server (start()); use reload() for a chain reload of the workers');
      return false;
    }
    if (this.busy || this.retired) {
      this.log.warn({ event: 'FULL_RELOAD_IGNORED', reason }, 'full reload already in progress: request ignored');
      return false;
    }
    if (this.server.observation().shuttingDown) {
      this.log.warn({ event: 'FULL_RELOAD_IGNORED', reason }, 'full reload: the server is shutting down; request ignored');
      return false;
    }
    if (process.pid === 1) {
      this.log.error({ event: 'FULL_RELOAD_UNAVAILABLE', reason }, 'full reload refused: Spindle is PID 1 (a container); when PID 1 exits the kernel kills every process in the container, the new one included. Use a chain reload (SIGHUP, reload-on-rss, max-worker-lifetime) and let the orchestrator replace containers');
      return false;
    }
    const outgoing = outgoingSockets(this.server.sharedSocketList);
    if (outgoing.length === 0 || !this.server.observation().serving) {
      this.log.warn({ event: 'FULL_RELOAD_IGNORED', reason }, 'full reload: the server is not serving yet; request ignored');
      return false;
    }
    this.busy = true;
    try {
      return await this.handOver(reason, outgoing);
    } finally {
      this.busy = false;
    }
  }

  private async handOver(reason: string, outgoing: readonly Outgoing[]): Promise<boolean> {
    const settings = this.server.settings;
    const oldPid = process.pid;
    let child: SuccessorProcess;
    try {
      child = this.opts.parent ? await this.opts.parent.spawnSuccessor(reason) : spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
        cwd: ORIGINAL_CWD,
        env: { ...ORIGINAL_ENV, [HANDOVER_ENV]: `${oldPid}:${reason}` },
        detached: true, // its own process group and session: it outlives this process
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'json',
      });
    } catch (err) {
      this.log.error({ event: 'FULL_RELOAD_SPAWN_FAILED', reason, err }, 'full reload failed: cannot start a new process; this process keeps serving');
      return false;
    }
    const newPid = child.pid ?? 0;
    this.log.info({ event: 'FULL_RELOAD_SPAWNED', reason, oldPid, newPid }, 'full reload: started a new process');

    const inbox: ToParent[] = [];
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let failure = '';
    let adoptedUrls: string[] | undefined;
    let wake: (() => void) | null = null;
    child.on('message', (m: ToParent) => {
      if (m && typeof m === 'object' && 'spindle' in m) {
        if (m.spindle === 'adopted' && Array.isArray(m.urls)) adoptedUrls = m.urls;
        if (m.spindle === 'failed') failure = m.reason;
        else inbox.push(m);
      }
      wake?.();
    });
    child.on('exit', (code, signal) => { exit = { code, signal }; wake?.(); });
    child.on('error', (err) => { failure ||= err.message; wake?.(); });
    const deadline = Date.now() + settings.processRecycle.timeoutMs;
    const waitFor = async (what: ToParent['spindle']): Promise<string | null> => {
      for (;;) {
        const i = inbox.findIndex((m) => m.spindle === what);
        if (i >= 0) { inbox.splice(i, 1); return null; }
        if (exit) return `it exited (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}${exitMeaning(exit.code)}) before it was ${what}${failure ? `: ${failure}` : ''}`;
        if (failure) return `it failed before it was ${what}: ${failure}`;
        if (this.server.observation().shuttingDown) return 'this process began shutting down';
        if (Date.now() > deadline) return `it was not ${what} within full-reload-timeout (${settings.processRecycle.timeoutMs / 1000} s)`;
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 250).unref();
        });
        wake = null;
      }
    };
    let stage: 'starting' | 'adopting' | 'finishing' = 'starting';
    const give = (msg: ToChild, handle?: object): Promise<void> => new Promise((resolve, reject) => {
      if (!child.connected) { reject(new Error('the new process closed its channel')); return; }
      child.send(msg, handle as never, {}, (err) => (err ? reject(err) : resolve()));
    });

    let why: string | null = await waitFor('ready');
    if (!why) {
      try {
        stage = 'adopting';
        if (this.server.cacheStores.any) await this.server.cacheStores.saveAll('full reload');
        await give({ spindle: 'sockets', list: outgoing.map((o) => o.meta) });
        for (let i = 0; i < outgoing.length; i++) {
          // sending a raw handle leaves it open here: this process keeps serving until the new one does
          const handle = outgoing[i]!.handle;
          if (!handle) throw new Error(`listener ${outgoing[i]!.meta.url} has no handle`); // caught below: logged with the reload's outcome
          await give({ spindle: 'socket', index: i }, handle);
        }
      } catch (err) {
        why = `the sockets could not be handed over: ${(err as Error).message}`;
      }
    }
    why ??= await waitFor('adopted');
    if (!why) {
      stage = 'finishing';
      await this.server.releaseStatsServer();
      try { await give({ spindle: 'released' }); } catch (err) { why = (err as Error).message; }
    }
    why ??= await waitFor('serving');
    if (why) {
      await this.abandon(child, stage, () => exit !== null);
      if (stage === 'finishing') this.rewritePidfile();
      this.log.error({ event: 'FULL_RELOAD_FAILED',
        reason, oldPid, newPid, why, ...(exit ? { exitCode: (exit as { code: number | null }).code, exitSignal: (exit as { signal: string | null }).signal } : {}),
        ...(stage === 'finishing' && settings.stats ? { note: 'the stats server was released to the new process and stays closed in this one until it restarts' } : {}),
      }, 'full reload failed: this process keeps serving (the new process\'s own log lines above say more)');
      return false;
    }

    // The new process serves. Retire this one.
    this.retired = true;
    this.stop();
    child.removeAllListeners('message');
    child.unref();
    if (child.connected) child.disconnect();
    this.server.cacheStores.stop(); // the store files belong to the new process now
    // a socket the new configuration dropped is not the new process's: closed and vacuumed here
    this.server.handOver(outgoing.filter((o) => !adoptedUrls || adoptedUrls.includes(o.meta.url)).map((o) => o.owned));
    this.log.info({ event: 'FULL_RELOAD_HANDED_OVER', reason, oldPid, newPid }, 'full reload: the new process is serving; this one stops accepting and drains');
    void this.retire();
    return true;
  }

  /**
   * Drain and close: the graceful close stops the workers, which close their descriptors of the
   * listening sockets and drain (OwnHttp.stop()); the keepers close only after that, and the new
   * process holds its own copies.
   */
  private async retire(): Promise<void> {
    await this.server.close({ graceful: true });
    this.log.info({ event: 'FULL_RELOAD_DRAINED', oldPid: process.pid }, 'full reload: the old process has drained and exits');
    this.opts.onRetired?.();
  }

  /** Stop a new process that did not take over: gracefully if it may hold connections, else kill. */
  private async abandon(child: SuccessorProcess, stage: string, exited: () => boolean): Promise<void> {
    const pid = child.pid;
    if (!pid || exited()) return;
    const group = (signal: NodeJS.Signals) => { try { process.kill(-pid, signal); } catch { /* gone */ } };
    if (stage === 'starting') group('SIGKILL');
    else {
      // it may be accepting on the shared sockets already: let it finish what it accepted
      group('SIGTERM');
      const until = Date.now() + this.server.settings.mercyMs + 5000;
      while (!exited() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      group('SIGKILL');
    }
    const until = Date.now() + 5000;
    while (!exited() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    if (child.connected) child.disconnect();
  }

  private rewritePidfile(): void {
    const path = this.server.settings.pidfile;
    if (!path || this.opts.parent) return; // under the parent, the pidfile always names the parent
    try {
      writePidfile(path);
    } catch (err) {
      this.log.error({ event: 'FULL_RELOAD_PIDFILE_FAILED', path, err }, 'full reload: cannot rewrite the pidfile');
    }
  }
}

/**
 * The process's RSS; 0 when it cannot be read: Node reads it from /proc/self/stat and throws
 * EMFILE at the descriptor limit, which must not end the process (it is checked again in a second).
 */
function processRss(): number {
  try {
    return process.memoryUsage.rss();
  } catch {
    return 0;
  }
}

function exitMeaning(code: number | null): string {
  if (code === 1) return ': configuration error';
  if (code === 22) return ': the app could not be loaded';
  return '';
}
