// The stats listener (`stats ADDR`). Raw, as uWSGI: every connection gets one JSON document and is
// closed (whatever the client sends is ignored). With stats-http it is an HTTP/1.1 server:
//   GET /              the same JSON document (application/json)
//   GET /metrics       Prometheus text exposition 0.0.4
//   GET /health/live   200 while the master runs
//   GET /health/ready  200 while a worker accepts and the server is not shutting down, else 503
// It is served by the master's event loop from lock-free reads; it never waits on a worker.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseAddress, isLocalOnlyAddress } from '../config/address.js';
import { listen, removeStaleSocket } from '../front/inherit.js';
import { listenFailure } from './listen-failure.js';
import { SpindleError } from '../errors.js';
import type { Log } from '../log/logger.js';
import { buildStats, readiness, renderMetrics, renderStats, type StatsSource } from './stats.js';

/** A stats client gets its answer at once: a raw connection open this long, or an HTTP one idle this long, is closed. */
const IDLE_MS = 5000;
/** Stats connections open at once; more are closed at accept until some end. */
export const MAX_STATS_CONNECTIONS = 64;

export interface StatsServerOptions {
  address: string;
  http: boolean;
  minified: boolean;
  public: boolean;
  log: Log;
}

export class StatsServer {
  private server?: NetServer | HttpServer;
  private readonly sockets = new Set<Socket>();
  /** As bound: 'tcp://127.0.0.1:9191', 'http://127.0.0.1:9191' or 'unix:/path'. */
  url = '';
  private unixPath?: string;
  private unixIno?: number;

  constructor(private readonly src: StatsSource, private readonly opts: StatsServerOptions) {}

  async listen(): Promise<void> {
    const { address } = this.opts;
    if (!this.opts.public && !isLocalOnlyAddress(address)) {
      // the configuration check refuses this first; this guards start() callers that skip it
      throw new SpindleError('CONFIG_CONFLICT', `stats = ${address} is not a loopback address or UNIX path; set stats-public to expose it`);
    }
    const addr = parseAddress(address);
    const server = this.opts.http ? this.httpServer() : this.rawServer();
    server.maxConnections = MAX_STATS_CONNECTIONS;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      // Raw: the answer is written at once, so a connection gets IDLE_MS in all (an idle timer is
      // re-armed by activity, such as a client reading slowly, and a stuck client must not hold one
      // of the slots longer). HTTP: IDLE_MS of idleness between requests.
      let deadline: NodeJS.Timeout | undefined;
      if (this.opts.http) s.setTimeout(IDLE_MS, () => s.destroy());
      else deadline = setTimeout(() => s.destroy(), IDLE_MS).unref();
      s.once('close', () => {
        clearTimeout(deadline);
        this.sockets.delete(s);
      });
    });
    let warnedAt = -Infinity;
    server.on('drop', () => {
      const now = performance.now();
      if (now - warnedAt < 60_000) return;
      warnedAt = now;
      this.opts.log.warn({ event: 'STATS_CONNECTIONS_FULL', max: MAX_STATS_CONNECTIONS }, `stats: ${MAX_STATS_CONNECTIONS} connections are open; new ones are closed at once until some end (logged at most once a minute)`);
    });
    this.server = server;
    try {
      if (addr.kind === 'unix') {
        await removeStaleSocket(addr.path);
        await listen(server, { path: addr.path });
      } else {
        await listen(server, { host: addr.host, port: addr.port });
      }
    } catch (err) {
      throw listenFailure('stats', addr, err);
    }
    if (addr.kind === 'unix') {
      this.unixPath = addr.path;
      this.unixIno = lstatSync(addr.path).ino;
      this.url = `unix:${addr.path}`;
    } else {
      const bound = server.address();
      const port = typeof bound === 'object' && bound ? bound.port : addr.port;
      const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
      this.url = `${this.opts.http ? 'http' : 'tcp'}://${host}:${port}`;
    }
  }

  private document(): string {
    return renderStats(buildStats(this.src), this.opts.minified);
  }

  private rawServer(): NetServer {
    return createNetServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.on('data', () => {}); // ignored, as uWSGI does
      let body: string;
      try {
        body = this.document();
      } catch (err) {
        this.opts.log.error({ event: 'STATS_FAILED', err }, 'stats: could not build the document');
        socket.destroy();
        return;
      }
      socket.end(body);
    });
  }

  private httpServer(): HttpServer {
    const server = createHttpServer({ headersTimeout: 5000, requestTimeout: 10000, keepAliveTimeout: 1000 }, (req, res) => {
      const path = (req.url ?? '/').split('?', 1)[0]!;
      const send = (status: number, type: string, body: string) => {
        res.writeHead(status, {
          'content-type': type,
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        send(405, 'text/plain; charset=utf-8', 'only GET and HEAD are served here\n');
        return;
      }
      try {
        switch (path) {
          case '/':
            send(200, 'application/json', this.document());
            return;
          case '/metrics':
            send(200, 'text/plain; version=0.0.4; charset=utf-8', renderMetrics(this.src));
            return;
          case '/health/live':
            send(200, 'text/plain; charset=utf-8', 'live\n');
            return;
          case '/health/ready': {
            const r = readiness(this.src);
            send(r.ready ? 200 : 503, 'text/plain; charset=utf-8', `${r.ready ? 'ready' : 'not ready'}: ${r.reason}\n`);
            return;
          }
          default:
            send(404, 'text/plain; charset=utf-8', 'not found: the stats server serves /, /metrics, /health/live and /health/ready\n');
        }
      } catch (err) {
        this.opts.log.error({ event: 'STATS_FAILED', err, path }, 'stats: could not answer');
        if (!res.headersSent) send(500, 'text/plain; charset=utf-8', 'the stats could not be built (see the server log)\n');
        else res.destroy();
      }
    });
    server.on('clientError', (_err, socket: Socket) => socket.destroy());
    return server;
  }

  /** Stops listening, drops open connections, removes the UNIX socket it created. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    if (this.unixPath) {
      try {
        if (lstatSync(this.unixPath).ino === this.unixIno) unlinkSync(this.unixPath);
      } catch { /* already gone */ }
    }
  }
}


