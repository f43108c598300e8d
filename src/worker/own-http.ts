// A worker accepts HTTP connections on the shared listening sockets and serves them itself, with
// no hop through the master: limit-post, harakiri (the worker answers 504 itself while its event loop
// runs; the master terminates it when it is too stuck to), the request log, and graceful stops.
// What the master needs to know (counters, the status/latency stats) is reported in batches.
import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ControlMessage } from '../protocol/worker.js';
import { answer, lowerDeadline, newExchange, refuseTooLarge, type Exchange, type ResponseOptions } from '../front/exchange.js';
import { answerAppFailure, writeResponsePart } from '../front/response-messages.js';
import { errorDetail } from '../protocol/errors.js';
import { errorMessage, SpindleError } from '../errors.js';
import type { HttpServerOptions } from '../front/listeners.js';
import { rawResponse } from '../front/raw-response.js';
import type { SlottedResponse } from '../front/slotted-response.js';
import { listenOnDescriptor } from '../front/descriptor-listener.js';
import { CHUNKED, declaredBody, readBody } from '../front/request-body.js';
import { answerScreened, screenRequest, type Screened } from '../front/request-screen.js';
import { whenWritable } from '../front/write-room.js';
import type { Log } from '../log/logger.js';
import { logRequest } from '../log/request-log.js';
import { runInRequest } from '../api/request-scope.js';
import type { AppHandler, NodeDispatchTarget, RequestData } from './app-types.js';
import { PartSink } from './part-sink.js';
import { BusyClock, monoAt } from '../protocol/busy-clock.js';
import { OWN_DEADLINE, type ListenFd, type OwnHttpSettings } from '../protocol/worker.js';
import { RequestAbort } from './request-abort.js';
import { OwnRequest } from './own-request.js';
import { SlotList } from './slot-list.js';
import { EarliestDeadline } from './earliest-deadline.js';
import { Admission } from './admission.js';
import { TurnBudget } from './turn-budget.js';
import { abortRequest, installRequestSignal } from './node-request-signal.js';
import { ConnectionShare } from './connection-share.js';
import { ConnectionFlow } from './connection-flow.js';
import { runHandler } from './run-handler.js';
import { RequestTable, timeOrigin } from '../protocol/request-table.js';
import { ServedBatch } from '../protocol/served-batch.js';

/** How often the worker checks its requests' deadlines and reports what it served. */
const TICK_MS = 100;
/** How soon an idle worker reports what it served (see flushSoon). */
const IDLE_FLUSH_MS = 5;

/** A response's request, once it started (SlottedResponse's slot: both servers make their responses of that class). */
type Tracked = SlottedResponse & { slot: OwnRequest | undefined };

export class OwnHttp {
  private readonly servers: Server[] = [];
  /** Requests whose handler has not settled. */
  private readonly live = new SlotList<OwnRequest>();
  /** Responses not yet closed on the wire (the thread must not exit under them). */
  private openResponses = 0;
  private nextId = -1;
  private flushScheduled = false;
  private idleFlush: NodeJS.Timeout | undefined;
  /** Requests begun so far: the idle flush checks that none began while it waited. */
  private begun = 0;
  private begunAtFlushArm = 0;
  private stopping = false;
  private idleClosed = false;
  /** abandonAll() ran: the thread is exiting. */
  private abandoned = false;
  /** What the master reads of this worker's requests (OWN_DEADLINE). */
  private readonly own: Float64Array;
  /** OWN_IN_FLIGHT and the busy time (the cheaper's busyness). */
  private readonly busy: BusyClock;
  /** The requests in flight, as the master lists them if it has to terminate this thread. */
  private readonly table: RequestTable;
  private earliestDeadline = 0;
  private readonly deadlines = new EarliestDeadline<OwnRequest>();
  private readonly served = new ServedBatch();
  private harakiris = 0;
  private readonly responseOptions: ResponseOptions;
  /** concurrency: requests beyond the cap wait here. */
  private readonly admission: Admission;
  /** Without a cap: CPU-bound handlers take turns with the sockets (turn-budget.ts). */
  private readonly turns = new TurnBudget();
  /** This worker's share of the kept-alive connections. */
  private readonly share: ConnectionShare;
  /** Every response's one 'close' listener, made once (`this` is the response: no closure per request). */
  private readonly onResponseClose = ((owner: OwnHttp) => function (this: ServerResponse) {
    owner.responseClosed(this.req, this as Tracked);
  })(this);
  /** Pipelined requests per connection, and whether a connection waits on us or on its client. */
  private readonly flow = new ConnectionFlow((req, res) => this.onRequest(req, res));

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
    if (dispatch) installRequestSignal();
    this.admission = new Admission(s.concurrency);
    this.share = new ConnectionShare(s.connections);
    this.busy = new BusyClock(s.ownState);
    this.table = new RequestTable(s.requestTable);
    this.responseOptions = {
      closing: () => this.stopping,
      onInvalid: (ex, err) => this.log.error({ event: 'INVALID_RESPONSE_HEAD', worker: this.workerId, method: ex.method, path: ex.url, err }, 'the app returned an invalid response head'),
    };
    setInterval(() => this.tick(), TICK_MS).unref();
    process.once('exit', (code) => this.answerOnExit(code));
  }

  /** The thread is exiting: the app called process.exit() or threw an uncaught exception. */
  private answerOnExit(code: number): void {
    this.abandonAll(
      { status: 502, message: `the worker handling this request died (exit code ${code}); it is being replaced`, note: 'worker-died' },
      `the worker that read this request died (exit code ${code})`,
    );
  }

  /**
   * The thread exits now, with requests unanswered. On each connection, the answer its client
   * waits for next is written at once, if none of it was (libuv's synchronous try-write: no event
   * loop runs after): `ran` for a request the app had, 503 for one it never started, which did not
   * run and may be sent again. The requests queued behind it on the connection get no answer (its
   * `Connection: close` tells the client they were not served), and a response already begun is
   * cut, never followed by another answer's bytes. Every request in flight is recorded as `ran.note`.
   */
  abandonAll(ran: { status: number; message: string; note: string }, why: string): void {
    if (this.abandoned) return; // QUIT did this, then process.exit() fires 'exit'
    this.abandoned = true;
    const exception = ran.note === 'worker-died';
    this.flow.nextOwed((res) => {
      if ((res as Tracked).slot !== undefined) {
        res.req.socket.write(rawResponse(ran.status, ran.message));
        return;
      }
      res.req.socket.write(rawResponse(503, `${why} before starting it; it did not run, so sending it again is safe`));
      const ex = newExchange(this.nextId--, res.req, res, null, this.workerId);
      ex.status = 503;
      ex.note = ran.note;
      this.record(ex, exception);
    });
    for (const r of this.live.snapshot()) {
      this.live.remove(r);
      r.note = ran.note;
      if (!r.res.headersSent) r.status = ran.status;
      this.record(r, exception);
      this.table.remove(r.entry);
    }
    this.deadlines.clear();
    this.flush();
  }

  /** Starts accepting on the descriptors the master copied for this worker (counted in `cell`). */
  listen(fds: ListenFd[], cell: number): void {
    this.share.attach(cell);
    const opts: HttpServerOptions = {
      maxHeaderBytes: this.s.maxHeaderBytes,
      maxBodyBytes: this.s.maxBodyBytes,
      socketTimeoutMs: this.s.socketTimeoutMs,
      requestReadTimeoutMs: this.s.requestReadTimeoutMs,
      log: this.log,
      onRequest: (req, res) => this.arrive(req, res),
      isBusy: (socket) => this.flow.busy(socket),
      hadRequest: (socket) => this.flow.tracks(socket),
    };
    for (const fd of fds) {
      const server = listenOnDescriptor(fd, opts, this.s.backlog);
      server.on('connection', (socket: Socket) => this.share.opened(socket));
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
    this.share.leave();
    // net's close, not http's: http's would also close the idle connections at once, racing a
    // client that is sending its next request on one of them.
    for (const server of this.servers) NetServer.prototype.close.call(server);
    for (let i = 0; i < this.live.size; i++) this.live.at(i).res.shouldKeepAlive = false;
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
    const r = this.live.find((q) => q.id === requestId);
    if (r === undefined) return false;
    lowerDeadline(r, seconds);
    this.deadlines.changed(r);
    this.table.setDeadline(r.entry, r.deadline);
    this.publishDeadline();
    return true;
  }

  /** Sends the master what was served since the last report. */
  flush(): void {
    if (this.served.size === 0 && this.harakiris === 0) return;
    this.report({ kind: 'served', requests: this.served.take(), harakiris: this.harakiris });
    this.harakiris = 0;
  }

  // ---- requests --------------------------------------------------------------------------

  /** A request is parsed: it starts when its connection's pipelining allows (connection-flow.ts). */
  private arrive(req: IncomingMessage, res: ServerResponse): void {
    this.openResponses++;
    res.on('close', this.onResponseClose);
    this.flow.enter(req, res);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.stopping || this.share.shouldShed(req.socket)) res.shouldKeepAlive = false;
    const screened = screenRequest(req, this.dispatch === undefined);
    if (screened !== null) {
      this.screened(req, res, screened);
      return;
    }
    const limit = this.s.maxBodyBytes;
    // A Node app reads the body itself: that is safe when its declared length is within
    // limit-post. A chunked body, whose size is unknown, is read (and bounded) here first.
    const dispatch = this.dispatch;
    const declared = dispatch ? declaredBody(req) : CHUNKED;
    if (dispatch && declared !== CHUNKED) {
      if (limit > 0 && declared > limit) this.tooLarge(req, res, declared);
      else {
        const now = performance.now(); // one clock read for the turn budget and the request's start
        if (this.mayStartNow(now)) this.runNode(dispatch, req, res, now); // the common case, without a closure
        else this.startLater(res, () => this.runNode(dispatch, req, res));
      }
      return;
    }
    readBody(req, res, limit, {
      done: (body) => this.admit(req, res, (now) => this.run(req, res, body, now)),
      tooLarge: (size) => this.tooLarge(req, res, size),
    });
  }

  /** May a request start at once? Without a cap: while this loop turn has budget (turn-budget.ts). */
  private mayStartNow(now: number): boolean {
    return this.s.concurrency === 0 && this.turns.mayStart(now);
  }

  /** Runs the request now (mayStartNow()), or in a later turn, or once this worker is under its cap. */
  private admit(req: IncomingMessage, res: ServerResponse, start: (now?: number) => void): void {
    const now = performance.now(); // as in onRequest: one clock read for the budget and the start
    if (this.mayStartNow(now)) start(now);
    else this.startLater(res, start);
  }

  /** mayStartNow() said no: the request waits for a turn, or for the cap (concurrency). */
  private startLater(res: ServerResponse, start: () => void): void {
    const later = () => {
      if (res.destroyed) return false; // the client left while it waited
      start();
      return true;
    };
    if (this.s.concurrency === 0) this.turns.wait(later);
    else this.admission.admit(this.live.size, later);
  }

  private tooLarge(req: IncomingMessage, res: ServerResponse, size: number): void {
    const ex = newExchange(this.nextId--, req, res, null, this.workerId);
    refuseTooLarge(ex, size, this.s.maxBodyBytes);
    this.record(ex, false);
  }

  /** Answered by the front, never seen by the app (request-screen.ts). */
  private screened(req: IncomingMessage, res: ServerResponse, s: Screened): void {
    const ex = newExchange(this.nextId--, req, res, null, this.workerId);
    answerScreened(ex, s, this.log);
    this.record(ex, false);
  }

  /**
   * The one 'close' listener of a response: the wire is free (the connection's next request may
   * start), a pass-through request is over, and an adapter's request whose client left is aborted.
   */
  private responseClosed(req: IncomingMessage, res: Tracked): void {
    this.openResponses--;
    const r = res.slot;
    if (r !== undefined && r.ctx !== null) {
      if (!r.done && !res.writableFinished) {
        r.done = true; // the client went away first
        r.note = 'client-gone';
        r.ctx.abort(new SpindleError('REQUEST_ABORTED', errorMessage('REQUEST_ABORTED', { why: 'client gone' })));
      }
    } else if (r !== undefined && this.live.has(r)) {
      r.bytesOut = res.bytesSent();
      if (res.writableFinished) {
        r.status = res.statusCode;
        r.done = true;
      } else {
        r.note = 'client-gone';
        abortRequest(r.req, new SpindleError('REQUEST_ABORTED', errorMessage('REQUEST_ABORTED', { why: 'client gone' })));
      }
      this.finish(r, false);
    }
    this.flow.closed(req, res); // after the bookkeeping above: the next one may start now
    if (this.stopping && this.idle) this.onStopped();
  }

  /** A request in flight from now: deadline, busy socket. */
  private begin(req: IncomingMessage, res: ServerResponse, body: Uint8Array | null, passThrough: boolean, now = performance.now()): OwnRequest {
    const r = new OwnRequest(this.nextId--, req, res, body, this.workerId, now, passThrough ? null : new RequestAbort(this.workerId));
    this.begun++;
    const deadline = this.s.harakiriMs > 0 ? now + this.s.harakiriMs : 0;
    r.deadline = deadline;
    r.entry = this.table.add(r.method, r.url, now, deadline);
    this.live.add(r);
    this.deadlines.began(r, this.live.size);
    this.busy.inFlight(this.live.size, monoAt(now));
    if (deadline > 0 && this.earliestDeadline === 0) this.setEarliest(deadline);
    else if (deadline > 0 && deadline < this.earliestDeadline) this.publishDeadline();
    return r;
  }

  /** A Node-style app on the real request and response. */
  private runNode(target: NodeDispatchTarget, req: IncomingMessage, res: ServerResponse, now?: number): void {
    const r = this.begin(req, res, null, true, now);
    (res as Tracked).slot = r; // finished by responseClosed()
    this.table.running(r.entry);
    try {
      const ret = runInRequest(r.id, callNodeApp, target, req, res);
      if (ret !== null && typeof ret === 'object' && typeof (ret as Promise<unknown>).then === 'function') {
        (ret as Promise<unknown>).then(undefined, (err: unknown) => this.nodeAppFailed(r, err));
      }
    } catch (err) {
      this.nodeAppFailed(r, err);
    } finally {
      this.table.running(-1);
    }
  }

  private run(req: IncomingMessage, res: ServerResponse, body: Uint8Array | null, now?: number): void {
    const r = this.begin(req, res, body, false, now);
    const ctx = r.ctx!;
    (res as Tracked).slot = r; // a client that leaves aborts it: responseClosed()
    const socket = req.socket;
    const raw = req.rawHeaders;
    const headers: [string, string][] = [];
    for (let i = 0; i < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
    const rd: RequestData = {
      id: r.id, method: r.method, url: r.url, httpVersion: req.httpVersion, headers,
      remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? '', localPort: socket.localPort ?? 0,
      scheme: 'http', body,
    };
    // The sink's output goes straight to the client.
    const sink = new PartSink((part) => { if (writeResponsePart(r, part, this.responseOptions)) this.finish(r, false); }, () => whenWritable(res));
    this.table.running(r.entry);
    try {
      runHandler(this.handler, rd, sink, ctx, (failure) => { if (failure) this.failed(r, failure.error); });
    } finally {
      this.table.running(-1);
    }
  }

  /** A Node app threw, or its promise rejected: a started response is cut (answer()). */
  private nodeAppFailed(r: OwnRequest, err: unknown): void {
    if (this.live.has(r)) this.failed(r, err);
  }

  /** The app failed, or settled after an abort. Client-gone and harakiri requests were answered already. */
  private failed(r: OwnRequest, err: unknown): void {
    const answerable = r.note === undefined || r.note === 'harakiri-graceful';
    this.finish(r, answerable && answerAppFailure(r, errorDetail(err), this.log, this.workerId));
  }

  /** The request left the app (answered, failed, timed out or abandoned by the client). */
  private finish(r: OwnRequest, exception: boolean): void {
    if (!this.live.remove(r)) return;
    this.table.remove(r.entry);
    const now = performance.now();
    this.busy.inFlight(this.live.size, monoAt(now));
    if (this.live.size === 0) {
      this.deadlines.clear();
      this.setEarliest(0);
    } else if (r.deadline > 0 && r.deadline <= this.earliestDeadline) {
      this.publishDeadline();
    }
    this.record(r, exception, now);
    if (this.admission.queued > 0) this.admission.next(this.live.size);
    if (this.live.size === 0) this.flushSoon();
    if (this.stopping && this.idle) this.onStopped();
  }

  /**
   * Idle: report within a few milliseconds rather than at the next tick, so stats and max-requests
   * see it soon. Only after a quiet moment: a worker whose synchronous handlers leave nothing in
   * flight between requests is idle after every one of them, and a report each time costs the
   * master and the worker a message every few requests (under load, the tick reports).
   */
  private flushSoon(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.begunAtFlushArm = this.begun;
    // One timer, re-armed: a new setTimeout per idle moment is a new async resource each time.
    this.idleFlush ??= setTimeout(this.idleFlushDue, IDLE_FLUSH_MS).unref();
    this.idleFlush.refresh();
  }

  private readonly idleFlushDue = (): void => {
    if (this.begun !== this.begunAtFlushArm) {
      // Requests began while it waited: still busy, wait another quiet period.
      this.begunAtFlushArm = this.begun;
      this.idleFlush!.refresh();
      return;
    }
    this.flushScheduled = false;
    this.flush();
  };

  private record(ex: Exchange, exception: boolean, now = performance.now()): void {
    const ms = now - ex.receivedAt;
    this.served.add(ex.status, ms, ex.bytesOut, exception);
    logRequest(this.log, this.s.requestLog, ex, ms);
  }

  // ---- harakiri ----------------------------------------------------------------------------

  private tick(): void {
    this.share.rebalance();
    this.flow.watchStalls(this.s.socketTimeoutMs);
    if (this.earliestDeadline > 0 && performance.now() >= this.earliestDeadline) this.checkDeadlines();
    this.flush();
  }

  private checkDeadlines(): void {
    const now = performance.now();
    for (const r of this.live.snapshot()) {
      if (r.deadline <= 0 || now < r.deadline) continue;
      const ran = Math.round(now - r.receivedAt);
      const aborted = new SpindleError('REQUEST_ABORTED', errorMessage('REQUEST_ABORTED', { why: 'harakiri' }));
      // Graceful stage: fire the request's AbortSignal (a Node app's req.signal, if it reads it)
      // and give the app a little time to settle.
      if (this.s.harakiriGraceMs > 0 && r.note === undefined && fireAbort(r, aborted)) {
        r.note = 'harakiri-graceful';
        r.deadline = now + this.s.harakiriGraceMs;
        this.deadlines.changed(r);
        this.table.setDeadline(r.entry, r.deadline);
        this.log.warn({ event: 'HARAKIRI_GRACEFUL', worker: this.workerId, method: r.method, path: pathOf(r.url), ms: ran }, 'harakiri: request aborted, waiting for the worker to settle');
        continue;
      }
      // This code runs, so the thread is not stuck: answer the client and let the worker live.
      r.note = 'harakiri';
      this.harakiris++;
      this.log.error({ event: 'HARAKIRI', worker: this.workerId, method: r.method, path: pathOf(r.url), ms: ran }, 'HARAKIRI: request ran past its deadline; answered 504 and aborted (the worker is responsive, so it keeps serving)');
      answer(r, 504, `the request ran for ${ran} ms, past its harakiri limit`);
      fireAbort(r, aborted);
      this.finish(r, false);
    }
    this.publishDeadline();
  }

  /** Shows the master (and tick()) the earliest deadline of the requests in flight. */
  private publishDeadline(): void {
    this.setEarliest(this.deadlines.earliest(this.live.size));
  }

  private setEarliest(deadline: number): void {
    this.earliestDeadline = deadline;
    this.own[OWN_DEADLINE] = deadline > 0 ? timeOrigin + deadline : 0;
  }
}

function callNodeApp(target: NodeDispatchTarget, req: IncomingMessage, res: ServerResponse): unknown {
  return (target.fn as (q: IncomingMessage, s: ServerResponse) => unknown).call(target.thisArg, req, res);
}

/** The path without its query string (which may hold secrets) for the log. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Fires the request's AbortSignal (the adapters', or a Node app's req.signal); false if it has none. */
function fireAbort(r: OwnRequest, reason: Error): boolean {
  if (r.ctx === null) return abortRequest(r.req, reason);
  r.ctx.abort(reason);
  return true;
}
