// Where the server listens, and in which order: the shared sockets the workers accept on
// (src/master/accept-workers.ts) and the stats server. A normal start binds every address before
// a worker starts, so a taken port fails at once; a full reload's new process takes its sockets
// over once its app has loaded. What was bound is released on failure and vacuumed at exit.
import { SpindleError } from '../errors.js';
import type { Log } from '../log/logger.js';
import type { InheritedSocket } from '../front/inherit.js';
import type { SocketKind } from '../protocol/worker.js';
import type { OwnedFiles, OwnedSocket } from './owned-files.js';
import type { ServerSettings } from './settings.js';
import type { SharedSocket } from './shared-sockets.js';
import type { StatsSource } from './stats.js';
import { StatsServer } from './stats-server.js';
import type { WorkerAccept } from './accept-workers.js';

export const DEFAULT_LISTENER = '127.0.0.1:8000';

export interface ListenerSpec { kind: SocketKind; spec: string }

/** http-socket and uwsgi-socket; 127.0.0.1:8000 (`defaulted`) when neither is given. */
export function listenerSpecs(settings: ServerSettings): { specs: ListenerSpec[]; defaulted: boolean } {
  const defaulted = settings.listeners.length + settings.uwsgiListeners.length === 0;
  const http = defaulted ? [DEFAULT_LISTENER] : settings.listeners;
  return {
    specs: [
      ...http.map((spec) => ({ kind: 'http' as const, spec })),
      ...settings.uwsgiListeners.map((spec) => ({ kind: 'uwsgi' as const, spec })),
    ],
    defaulted,
  };
}

export class ServerListeners {
  private statsServer: StatsServer | null = null;

  constructor(
    private readonly accept: WorkerAccept,
    /** What the stats server reports on (the server). */
    private readonly source: StatsSource,
    private readonly settings: ServerSettings,
    private readonly log: Log,
    private readonly files: OwnedFiles,
  ) {}

  /** The listening sockets (full reload hands their keepers to the new process). */
  get sockets(): readonly SharedSocket[] {
    return this.accept.sockets.sockets;
  }

  get statsUrl(): string | undefined {
    return this.statsServer?.url;
  }

  /** The shared sockets and the stats address, before any worker starts; on failure none stays bound. */
  async bindBeforeWorkers(specs: ListenerSpec[]): Promise<void> {
    try {
      await this.accept.open(specs);
      if (this.settings.stats) await this.listenStats();
    } catch (err) {
      await this.release();
      throw err;
    }
  }

  /** Full reload, new side: the shared sockets, each taken over from the old process when it had it. */
  async takeOver(specs: ListenerSpec[], take: (kind: SocketKind, spec: string) => InheritedSocket | undefined): Promise<void> {
    await this.accept.open(specs, take);
  }

  async listenStats(): Promise<void> {
    const stats = this.settings.stats!;
    this.statsServer = new StatsServer(this.source, { ...stats, log: this.log });
    try {
      await this.statsServer.listen();
    } catch (err) {
      if (err instanceof SpindleError) throw err;
      throw new SpindleError('LISTEN_FAILED', `cannot serve stats on ${stats.address}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Start-up failed before serving: the sockets bound so far are closed (and their files removed). */
  async release(): Promise<void> {
    await this.close();
    this.vacuum(null);
  }

  /** Full reload: the new process binds the stats address next. */
  async releaseStatsServer(): Promise<void> {
    const stats = this.statsServer;
    this.statsServer = null;
    await stats?.close();
  }

  /** A full reload failed after releasing the stats address: this process serves stats again. */
  async reclaimStatsServer(): Promise<Error | null> {
    if (this.statsServer || !this.settings.stats) return null;
    try {
      await this.listenStats();
      return null;
    } catch (err) {
      this.statsServer = null;
      return err as Error;
    }
  }

  /** Shutdown: stop listening. */
  async close(): Promise<void> {
    this.accept.close();
    await this.statsServer?.close();
  }

  /** Shutdown, last: remove the files of the sockets (the ones handed over are the new process's). */
  vacuum(handedOver: ReadonlySet<OwnedSocket> | null): void {
    if (this.settings.vacuum) this.files.vacuum(this.sockets, handedOver);
  }
}
