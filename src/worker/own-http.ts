// accept = workers: this worker accepts HTTP connections on the shared listening sockets and
// serves them itself, with no hop through the master. It does here what the master does for the
// requests it dispatches: limit-post, harakiri (the worker answers 504 itself while its event loop
// runs; the master terminates it when it is too stuck to), the request log, and graceful stops.
// What the master needs to know (counters, the status/latency stats) is reported in batches.
import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ControlMessage } from '../api/context.js';
import { answer, lowerDeadline, newExchange, refuseTooLarge, type Exchange, type ResponseOptions } from '../front/exchange.js';
import { answerAppFailure, errorText, writeResponseMessage } from '../front/response-messages.js';
import { createHttpServer } from '../front/listeners.js';
import { readBody } from '../front/request-body.js';
import type { Log } from '../log/logger.js';
import { logRequest } from '../log/request-log.js';
import { requestScope } from '../api/context.js';
import type { AppHandler, NodeDispatchTarget, RequestData } from './app-types.js';
import { PortSink } from './port-sink.js';
import { BusyClock } from './busy-clock.js';
import { OWN_DEADLINE, type OwnHttpSettings } from './protocol.js';
import { RequestAbort } from './request-abort.js';
import { runHandler } from './run-handler.js';

/** How often the worker checks its requests' deadlines and reports what it served. */
const TICK_MS = 100;

interface OwnRequest {
  ex: Exchange;
  /** The adapters' abort state; null for a Node app on node:http's own req/res (nothing to tell). */
  ctx: RequestAbort | null;
  /** socket.bytesWritten when a pass-through request began (its bytes out, at the end). */
  sentBefore: number;
}

/** On a response: its request, while the app has it. On a socket: a request of it is in flight. */
const kOwn = Symbol('spindle.ownRequest');
const kBusy = Symbol('spindle.busy');
type Marked<T> = T & { [kOwn]?: OwnRequest; [kBusy]?: boolean };

export class OwnHttp {
  private readonly servers: Server[] = [];
  /** Requests whose handler has not settled, by id (negative: the master's ids are positive). */
  private readonly live = new Map<number, OwnRequest>();
  /** Responses not yet closed on the wire (the thread must not exit under them). */
  private openResponses = 0;
  private nextId = -1;
  private stopping = false;
  private idleClosed = false;
  /** What the master reads of this worker's requests (OWN_DEADLINE). */
  private readonly own: Float64Array;
  /** OWN_IN_FLIGHT and the busy time (the cheaper's busyness). */
  private readonly busy: BusyClock;
  private earliestDeadline = 0;
  private readonly served = { status: [] as number[], ms: [] as number[], bytes: [] as number[], exception: [] as number[], harakiris: 0 };
  private readonly responseOptions: ResponseOptions;

  constructor(
    private readonly s: OwnHttpSettings,
    private readonly handler: AppHandler,
    /** A Node-style app's own listener: it gets node:http's real req and res (no emulation). */
    private readonly dispatch: NodeDispatchTarget | undefined,
    private readonly workerId: number,
    private readonly log: Log,
    private readonly report: (m: ControlMessage) => void,
    /** Called when a stop has finished: nothing in flight, every connection closed. */
    private readonly onStopped: () => void,
  ) {
    this.own = new Float64Array(s.ownState);
    this.busy = new BusyClock(s.ownState);
    this.responseOptions = {
      closing: () => this.stopping,
      onInvalid: (ex, err) => this.log.error({ worker: this.workerId, method: ex.method, path: ex.url, err }, 'the app returned an invalid response head'),
    };
    setInterval(() => this.tick(), TICK_MS).unref();
  }

  /** Starts accepting on the descriptors the master copied for this worker. */
  listen(fds: number[]): void {
    for (const fd of fds) {
      const server = createHttpServer({
        maxHeaderBytes: this.s.maxHeaderBytes,
        socketTimeoutMs: this.s.socketTimeoutMs,
        log: this.log,
        onRequest: (req, res) => this.onRequest(req, res),
        isBusy: (socket) => (socket as Marked<Socket>)[kBusy] === true,
      });
      server.listen({ fd }, this.s.backlog); // listen(handle, backlog): an options.backlog is ignored with fd
      this.servers.push(server);
    }
  }

  get idle(): boolean {
    return this.live.size === 0 && this.openResponses === 0 && (this.idleClosed || this.servers.length === 0);
  }

  /**
   * Stops accepting (the other workers take the new connections). Requests in flight finish and
   * close their connection; a keep-alive connection that sends another request within the grace
   * period is served and closed; the connections still idle after it are closed.
   */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    // net's close, not http's: http's would also close the idle connections at once, racing a
    // client that is sending its next request on one of them.
    for (const server of this.servers) NetServer.prototype.close.call(server);
    for (const { ex } of this.live.values()) ex.res.shouldKeepAlive = false;
    const grace = Math.min(1000, this.s.socketTimeoutMs);
    setTimeout(() => {
      for (const server of this.servers) server.closeIdleConnections();
      this.idleClosed = true;
      this.flush();
      if (this.idle) this.onStopped();
    }, grace).unref();
  }

  /** setHarakiri() from the app, for a request this worker accepted: true if it was one of them. */
  setHarakiri(requestId: number, seconds: number): boolean {
    const r = this.live.get(requestId);
    if (!r) return false;
    lowerDeadline(r.ex, seconds);
    this.publishDeadline();
    return true;
  }

  /** Sends the master what was served since the last report. */
  flush(): void {
    const b = this.served;
    if (b.status.length === 0 && b.harakiris === 0) return;
    this.report({ kind: 'served', ...b });
    b.status = []; b.ms = []; b.bytes = []; b.exception = []; b.harakiris = 0;
  }

  // ---- requests --------------------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.stopping) res.shouldKeepAlive = false;
    this.openResponses++;
    res.once('close', () => this.responseClosed(res as Marked<ServerResponse>));
    const limit = this.s.maxBodyBytes;
    // A Node app reads the body itself: that is safe when its declared length is within
    // limit-post. A chunked body, whose size is unknown, is read (and bounded) here first.
    if (this.dispatch && req.headers['transfer-encoding'] === undefined) {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (limit > 0 && declared > limit) this.tooLarge(req, res, declared);
      else this.runNode(this.dispatch, req, res);
      return;
    }
    readBody(req, res, limit, { done: (body) => this.run(req, res, body), tooLarge: (size) => this.tooLarge(req, res, size) });
  }

  private tooLarge(req: IncomingMessage, res: ServerResponse, size: number): void {
    const ex = newExchange(this.nextId--, req, res, null);
    ex.workerId = this.workerId;
    refuseTooLarge(ex, size, this.s.maxBodyBytes);
    this.record(ex, false);
  }

  /** One 'close' listener per response: the wire is free, and a pass-through request is over. */
  private responseClosed(res: Marked<ServerResponse>): void {
    this.openResponses--;
    const r = res[kOwn];
    if (r !== undefined && r.ctx === null && this.live.has(r.ex.id)) {
      const { ex } = r;
      ex.bytesOut = ex.req.socket.bytesWritten - r.sentBefore;
      if (res.writableFinished) {
        ex.status = res.statusCode;
        ex.done = true;
      } else {
        ex.note = 'client-gone';
      }
      this.finish(r, false);
    }
    if (this.stopping && this.idle) this.onStopped();
  }

  /** A request in flight from now: deadline, busy socket. */
  private begin(req: IncomingMessage, res: ServerResponse, body: Uint8Array | null, passThrough: boolean): OwnRequest {
    const ex = newExchange(this.nextId--, req, res, body);
    ex.workerId = this.workerId;
    ex.dispatchedAt = ex.receivedAt;
    ex.deadline = this.s.harakiriMs > 0 ? ex.receivedAt + this.s.harakiriMs : 0;
    const r: OwnRequest = { ex, ctx: passThrough ? null : new RequestAbort(this.workerId), sentBefore: 0 };
    this.live.set(ex.id, r);
    this.busy.inFlight(this.live.size);
    (req.socket as Marked<Socket>)[kBusy] = true;
    if (ex.deadline > 0 && this.earliestDeadline === 0) this.setEarliest(ex.deadline);
    else if (ex.deadline > 0 && ex.deadline < this.earliestDeadline) this.publishDeadline();
    return r;
  }

  /** A Node-style app on the real request and response. */
  private runNode(target: NodeDispatchTarget, req: IncomingMessage, res: ServerResponse): void {
    const r = this.begin(req, res, null, true);
    const { ex } = r;
    r.sentBefore = req.socket.bytesWritten;
    (res as Marked<ServerResponse>)[kOwn] = r; // finished by responseClosed()
    // After a harakiri answer the app may still write: that must not become an uncaught error.
    res.on('error', ignore);
    const fail = (err: unknown) => {
      if (this.live.has(ex.id)) this.failed(r, err); // a started response is cut (answer())
    };
    try {
      const ret = requestScope.run({ id: ex.id }, () => (target.fn as (q: IncomingMessage, s: ServerResponse) => unknown).call(target.thisArg, req, res));
      if (ret !== null && typeof ret === 'object' && typeof (ret as Promise<unknown>).then === 'function') {
        (ret as Promise<unknown>).then(undefined, fail);
      }
    } catch (err) {
      fail(err);
    }
  }

  private run(req: IncomingMessage, res: ServerResponse, body: Uint8Array | null): void {
    const r = this.begin(req, res, body, false);
    const { ex } = r;
    const ctx = r.ctx!;
    res.once('close', () => {
      if (ex.done || res.writableFinished) return;
      ex.done = true; // the client went away first
      ex.note = 'client-gone';
      ctx.abort(new Error('request aborted by the server (client gone)'));
    });
    const socket = req.socket;
    const raw = req.rawHeaders;
    const headers: [string, string][] = [];
    for (let i = 0; i < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
    const rd: RequestData = {
      id: ex.id, method: ex.method, url: ex.url, httpVersion: req.httpVersion, headers,
      remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? '', localPort: socket.localPort ?? 0,
      scheme: 'http', body,
    };
    // The sink's output goes straight to the client.
    const sink = new PortSink(ex.id, (m) => { if (writeResponseMessage(ex, m, this.responseOptions)) this.finish(r, false); }, false);
    runHandler(this.handler, rd, sink, ctx, (failure) => { if (failure) this.failed(r, failure.error); });
  }

  /** The app failed, or settled after an abort. Client-gone and harakiri requests were answered already. */
  private failed(r: OwnRequest, err: unknown): void {
    const { ex } = r;
    const answerable = ex.note === undefined || ex.note === 'harakiri-graceful';
    this.finish(r, answerable && answerAppFailure(ex, errorText(err), this.log, this.workerId));
  }

  /** The request left the app (answered, failed, timed out or abandoned by the client). */
  private finish(r: OwnRequest, exception: boolean): void {
    const { ex } = r;
    if (!this.live.delete(ex.id)) return;
    this.busy.inFlight(this.live.size);
    (ex.req.socket as Marked<Socket>)[kBusy] = false;
    if (this.live.size === 0) this.setEarliest(0);
    else if (ex.deadline > 0 && ex.deadline <= this.earliestDeadline) this.publishDeadline();
    this.record(ex, exception);
    if (this.stopping && this.idle) this.onStopped();
  }

  private record(ex: Exchange, exception: boolean): void {
    const ms = performance.now() - ex.receivedAt;
    const b = this.served;
    b.status.push(ex.status); b.ms.push(ms); b.bytes.push(ex.bytesOut); b.exception.push(exception ? 1 : 0);
    logRequest(this.log, this.s.requestLog, ex, ms);
  }

  // ---- harakiri ----------------------------------------------------------------------------

  private tick(): void {
    if (this.earliestDeadline > 0 && performance.now() >= this.earliestDeadline) this.checkDeadlines();
    this.flush();
  }

  private checkDeadlines(): void {
    const now = performance.now();
    for (const r of [...this.live.values()]) {
      const { ex } = r;
      if (ex.deadline <= 0 || now < ex.deadline) continue;
      const ran = Math.round(now - ex.dispatchedAt);
      const ctx = r.ctx;
      if (this.s.harakiriGraceMs > 0 && ex.note === undefined && ctx !== null) {
        // Graceful stage: fire the request's AbortSignal and give the app a little time to settle.
        // (A Node app on the real req/res has no signal to fire: it is answered at once.)
        ex.note = 'harakiri-graceful';
        ex.deadline = now + this.s.harakiriGraceMs;
        ctx.abort(new Error('request aborted by the server (harakiri)'));
        this.log.warn({ worker: this.workerId, method: ex.method, path: ex.url, ms: ran }, 'harakiri: request aborted, waiting for the worker to settle');
        continue;
      }
      // This code runs, so the thread is not stuck: answer the client and let the worker live.
      ex.note = 'harakiri';
      this.served.harakiris++;
      this.log.error({ worker: this.workerId, method: ex.method, path: ex.url, ms: ran }, 'HARAKIRI: request ran past its deadline; answered 504 and aborted (the worker is responsive, so it keeps serving)');
      answer(ex, 504, `the request ran for ${ran} ms, past its harakiri limit`);
      ctx?.abort(new Error('request aborted by the server (harakiri)'));
      this.finish(r, false);
    }
    this.publishDeadline();
  }

  /** Recomputes the earliest deadline and shows it to the master. */
  private publishDeadline(): void {
    let earliest = 0;
    for (const { ex } of this.live.values()) {
      if (ex.deadline > 0 && (earliest === 0 || ex.deadline < earliest)) earliest = ex.deadline;
    }
    this.setEarliest(earliest);
  }

  private setEarliest(deadline: number): void {
    this.earliestDeadline = deadline;
    this.own[OWN_DEADLINE] = deadline > 0 ? performance.timeOrigin + deadline : 0;
  }
}

function ignore(): void {}
