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
//
// The files: this one decides whether a full reload may run and retires the old process;
// triggers.ts starts reloads on its own (touch files, memory, lifetime); hand-over.ts is the old
// process's side, take-over.ts the new one's; the messages are in src/protocol/handover.ts.
import type { Log } from '../../log/logger.js';
import type { SharedSocket } from '../shared-sockets.js';
import type { ParentLink } from '../parent-link.js';
import { ReloadTriggers, type TriggerHost } from './triggers.js';
import { handOverToSuccessor, outgoingSockets, type HandOverHost } from './hand-over.js';

/** What the recycler needs of the server (src/master/server.ts). */
export interface RecyclableServer extends TriggerHost, HandOverHost {
  /** The listening sockets (their keepers are handed over). */
  readonly sharedSocketList: readonly SharedSocket[];
  observation(): { shuttingDown: boolean; serving: boolean };
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

export class ProcessRecycler {
  private readonly triggers: ReloadTriggers;
  private busy = false;
  private retired = false;

  constructor(private readonly server: RecyclableServer, private readonly log: Log, private readonly opts: RecyclerOptions = {}) {
    this.triggers = new ReloadTriggers(server, log, { embedded: Boolean(opts.embedded), busy: () => this.busy, fullReload: (reason) => this.fullReload(reason) });
  }

  /** The periodic checks: process RSS, process lifetime, touch files (once a second). */
  start(): void {
    this.triggers.start();
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
      if (!await handOverToSuccessor(this.server, this.log, this.opts.parent, reason, outgoing)) return false;
      this.retired = true;
      this.triggers.stop();
      void this.retire();
      return true;
    } finally {
      this.busy = false;
    }
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
}
