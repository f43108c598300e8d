// The requests of each connection a worker serves itself (accept = workers): how many run at once,
// whether the connection waits on us or on the client, and what is left when the client goes.
//   - node:http starts every pipelined request at once and stops reading only when their output
//     piles up: one write of 3,000 GETs started 3,000 requests. Here a connection has at most
//     PIPELINE_DEPTH requests started; the next ones wait, unstarted, and past PIPELINE_WAITING of
//     them the socket is not read (as node:http pauses it) until one is answered.
//   - node:http never closes the responses queued behind the first when the client leaves, so the
//     worker would never go idle: they are closed here, and the requests still waiting never run.
//     A paused socket does not see its client leave: after resuming it, the next request starts
//     only once the event loop has polled it.
//   - socket-timeout applies while the client owes us bytes of a started request (a stalled body)
//     or does not read what we sent; while a started request is with the app, the connection is
//     busy, not idle.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { SlottedResponse } from '../front/slotted-response.js';
import { SlotList } from './slot-list.js';

/** Requests of one connection started (and not yet answered) at once. */
export const PIPELINE_DEPTH = 8;
/** Requests of one connection parsed and waiting to start before its socket is no longer read. */
export const PIPELINE_WAITING = 32;

interface Flow {
  readonly socket: FlowSocket;
  /** Its place in ConnectionFlow's list of connections (slot-list.ts). */
  slot: number;
  /** Started requests whose response has not closed. */
  readonly started: Bag<IncomingMessage>;
  /** Requests parsed but not started, oldest first. */
  readonly waiting: Waiting[];
  /** Every response of this connection not closed yet. */
  readonly open: Bag<ServerResponse>;
  /** We paused the socket (and set node:http's own _paused, so that reading a request body does not resume it). */
  paused: boolean;
}

interface Waiting { req: IncomingMessage; res: ServerResponse }

type FlowSocket = Socket & { [kFlow]?: Flow; _paused?: boolean; parser?: { resume(): void } | null; _httpMessage?: ServerResponse | null };
type Closable = ServerResponse & { _closed: boolean };
/** A response that entered: its connection's Flow in its `flow` field (SlottedResponse). */
type FlowResponse = SlottedResponse & { flow: Flow | undefined };

const kFlow = Symbol('spindle.connectionFlow');

/**
 * The owner tells it when each response closes (closed()): one 'close' listener per response, the
 * owner's, rather than one per concern (that cost a measurable share of a small request).
 */
export class ConnectionFlow {
  /** The connections that have had a request, until they close. */
  private readonly flows = new SlotList<Flow>();

  /** `start` runs a request: at once, or once its connection has room for it. */
  constructor(private readonly start: (req: IncomingMessage, res: ServerResponse) => void) {}

  /** Starts the request now, or once fewer than PIPELINE_DEPTH of its connection are started. */
  enter(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket as FlowSocket;
    const f = socket[kFlow] ?? this.track(socket);
    (res as FlowResponse).flow = f;
    f.open.add(res);
    if (f.started.size < PIPELINE_DEPTH && f.waiting.length === 0) {
      f.started.add(req);
      this.start(req, res);
      return;
    }
    f.waiting.push({ req, res });
    // (node:http may have resumed it since: it resumes a socket it paused itself once drained)
    if (f.waiting.length >= PIPELINE_WAITING && socket._paused !== true) {
      f.paused = true;
      socket._paused = true;
      socket.pause();
    }
  }

  /** The response of `req` closed (answered, or cut): the next request of its connection may start. */
  closed(req: IncomingMessage, res: ServerResponse): void {
    const f = (res as FlowResponse).flow;
    if (f === undefined) return;
    const socket = f.socket;
    f.open.delete(res);
    if (!f.started.delete(req)) return;
    if (!f.paused) {
      this.startWaiting(f, socket);
      return;
    }
    resume(socket, f);
    setImmediate(() => this.startWaiting(f, socket)); // after a poll of the socket: is the client still there?
  }

  /**
   * Is this connection waiting on us (a started request is with the app, or queued for it)? Not
   * while the client still owes bytes of a started request that we are reading, or leaves our
   * response unread: that is a stall.
   */
  busy(socket: Socket): boolean {
    const f = (socket as FlowSocket)[kFlow];
    if (f === undefined || (f.started.size === 0 && f.waiting.length === 0)) return false;
    if (socket.writableLength > 0) return false; // a response waits for the client to read it
    if (socket.isPaused()) return true; // not reading: whatever is missing is not the client's fault
    return f.started.every(isComplete);
  }

  /** Has a request of this connection entered? */
  tracks(socket: Socket): boolean {
    return (socket as FlowSocket)[kFlow] !== undefined;
  }

  /**
   * socket-timeout during a kept-alive request (listeners.ts): node:http clears a connection's
   * inactivity timer when such a request starts. A connection whose started request waits on its
   * client (a body that stopped arriving, a response the client does not read) gets it back here,
   * from the worker's periodic tick: a stall is then cut at most a tick later than socket-timeout,
   * and a request that does not stall costs no timer.
   */
  watchStalls(timeoutMs: number): void {
    for (let i = 0; i < this.flows.size; i++) {
      const { socket, started } = this.flows.at(i);
      if (started.size > 0 && !socket.timeout && !socket.destroyed && !this.busy(socket)) socket.setTimeout(timeoutMs);
    }
  }

  /**
   * For each connection that still owes its client an answer: the response the client waits for
   * next (the one on the socket; node:http queues the others behind it), if none of it was sent.
   */
  nextOwed(each: (res: ServerResponse) => void): void {
    for (let i = 0; i < this.flows.size; i++) {
      const { socket, open } = this.flows.at(i);
      const next = socket._httpMessage;
      if (open.size > 0 && next != null && !next.headersSent && socket.writable) each(next);
    }
  }

  private track(socket: FlowSocket): Flow {
    const flow: Flow = { socket, slot: -1, started: new Bag(), waiting: [], open: new Bag(), paused: false };
    socket[kFlow] = flow;
    this.flows.add(flow);
    socket.once('close', () => {
      this.flows.remove(flow);
      flow.waiting.length = 0; // never started: the client that sent them is gone
      for (const res of flow.open.snapshot()) closeResponse(res as Closable);
    });
    return flow;
  }

  /** Starts waiting requests while the depth allows, unless their responses could no longer be sent. */
  private startWaiting(f: Flow, socket: Socket): void {
    while (f.waiting.length > 0 && f.started.size < PIPELINE_DEPTH) {
      if (socket.destroyed || !socket.writable) {
        f.waiting.length = 0;
        return;
      }
      const next = f.waiting.shift()!;
      f.started.add(next.req);
      this.start(next.req, next.res);
    }
  }
}

function isComplete(req: IncomingMessage): boolean {
  return req.complete;
}

/**
 * An unordered set of the few requests or responses of one connection. Once grown it allocates
 * nothing: a Set whose last item is deleted reallocates its table, once per request per Set here,
 * and those tables outlived young-generation GCs (they hang off the long-lived connection).
 */
class Bag<T> {
  private readonly items: (T | undefined)[] = [];
  size = 0;

  add(item: T): void {
    this.items[this.size++] = item;
  }

  /** Removes `item`; false if it was not there. */
  delete(item: T): boolean {
    const { items } = this;
    for (let i = 0; i < this.size; i++) {
      if (items[i] !== item) continue;
      items[i] = items[--this.size];
      items[this.size] = undefined;
      return true;
    }
    return false;
  }

  every(test: (item: T) => boolean): boolean {
    for (let i = 0; i < this.size; i++) if (!test(this.items[i]!)) return false;
    return true;
  }

  snapshot(): T[] {
    return this.items.slice(0, this.size) as T[];
  }
}

/** As node:http resumes a socket it paused (socketOnDrain): the parser, then the socket. */
function resume(socket: FlowSocket, f: Flow): void {
  f.paused = false;
  if (socket.destroyed) return;
  socket._paused = false;
  socket.parser?.resume();
  socket.resume();
}

/** What node:http does for the response on the socket when it closes (emitCloseNT), for a queued one. */
function closeResponse(res: Closable): void {
  if (res._closed) return;
  res.destroyed = true;
  res._closed = true;
  res.emit('close');
}
