// need-app = false and the app does not load: the server listens anyway, the master itself
// answers 503 on the shared sockets, and a reload that loads the app puts the workers back.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpServerOptions } from '../front/listeners.js';
import { firstLine } from '../front/response-messages.js';
import type { Log } from '../log/logger.js';
import type { ServerSettings } from './settings.js';
import type { Supervisor } from './supervisor.js';
import type { RequestObserver } from './stats.js';
import type { WorkerAccept } from './accept-workers.js';
import { AppLoadFailure } from './worker-handle.js';

/** What the stand-in uses of the server (SpindleServer). */
export interface NoAppHost {
  readonly settings: ServerSettings;
  readonly log: Log;
  readonly supervisor: Pick<Supervisor, 'startAll'>;
  readonly observer: Pick<RequestObserver, 'observe'>;
  requestsTotal: number;
}

export class MissingApp {
  /** Why the app did not load; '' once it is loaded. */
  error = '';

  constructor(private readonly server: NoAppHost, private readonly accept: Pick<WorkerAccept, 'standIn' | 'endStandIn'>) {}

  /** Start-up: the workers could not load the app, and need-app is off. */
  failed(err: AppLoadFailure): void {
    this.error = err.detail;
    this.server.log.error({ event: 'NO_APP', err: { message: err.detail, stack: err.detail } }, 'no app loaded (need-app is off): answering 503 until a reload loads it');
  }

  /** Once the shared sockets are open: answer on them while there is no app. */
  async standIn(): Promise<void> {
    if (this.error) await this.accept.standIn(this.standInOptions());
  }

  /** A reload while there is no app: start the workers; true once they loaded it. */
  async reload(): Promise<boolean> {
    try {
      await this.server.supervisor.startAll();
      this.error = '';
      this.accept.endStandIn();
      this.server.log.info({ event: 'APP_RELOADED' }, 'app loaded by reload');
      return true;
    } catch (err) {
      this.error = err instanceof AppLoadFailure ? err.detail : String(err);
      this.server.log.error({ event: 'APP_STILL_FAILS', err: { message: firstLine(this.error), stack: this.error } }, 'reload: the app still does not load');
      return false;
    }
  }

  /** What the master answers on the shared sockets. */
  private standInOptions(): HttpServerOptions {
    const server = this.server;
    return {
      maxHeaderBytes: server.settings.maxHeaderBytes,
      socketTimeoutMs: server.settings.socketTimeoutMs,
      log: server.log,
      isBusy: () => false,
      hadRequest: () => false, // each answer closes its connection: no kept-alive idle ones
      onRequest: (req: IncomingMessage, res: ServerResponse) => {
        req.resume();
        res.shouldKeepAlive = false;
        const body = '503 Service Unavailable: no application is loaded (need-app is off); fix the app and reload\n';
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'retry-after': '5' });
        res.end(body);
        server.observer.observe(503, 0);
        server.requestsTotal++;
      },
    };
  }
}
