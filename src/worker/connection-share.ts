// Fair spreading of kept-alive connections between the workers that accept on a shared socket.
//
// The kernel hands a new connection to whichever worker's event loop is waiting in accept first,
// and a kept-alive connection then stays with that worker for its whole life: a burst of connects
// can leave one worker with most of them while another idles (measured: 260 client timeouts at
// 256 connections of 2 ms CPU requests). Every accepting worker publishes its open connections in
// a shared cell (OwnHttpSettings.connections); a worker holding clearly more than the average
// answers its next requests with `Connection: close` until it is back to its share. The clients
// reconnect, and the new connections go to whichever worker accepts first — an idle one, since a
// busy worker is running JavaScript, not waiting in accept.
import type { Socket } from 'node:net';

/** Above the average by this factor, plus SLACK connections, a worker sheds. */
const FACTOR = 1.1;
const SLACK = 2;
/** A cell a stopping worker no longer counts in; the master frees it (-1) when the thread exits. */
const LEFT = -2;

const kShed = Symbol('spindle.shed');
type Marked = Socket & { [kShed]?: boolean };

export class ConnectionShare {
  private readonly cells: Int32Array;
  private cell = -1;
  private open = 0;
  /** Connections told to close after their response, not closed yet. */
  private shedding = 0;
  /** More open connections than this: shed. Recomputed by rebalance(). */
  private limit = Infinity;

  constructor(buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer);
  }

  /** This worker counts its connections in `cell` from now on (-1: none free; it never sheds). */
  attach(cell: number): void {
    this.cell = cell;
    this.publish();
  }

  /** A connection was accepted. */
  opened(socket: Socket): void {
    this.open++;
    this.publish();
    socket.once('close', () => {
      this.open--;
      if ((socket as Marked)[kShed]) this.shedding--;
      this.publish();
    });
  }

  /** From the worker's periodic tick: the share every accepting worker should hold. */
  rebalance(): void {
    let total = 0;
    let workers = 0;
    for (let i = 0; i < this.cells.length; i++) {
      const n = Atomics.load(this.cells, i);
      if (n < 0) continue;
      total += n;
      workers++;
    }
    this.limit = workers > 1 && this.cell >= 0 ? Math.ceil((total / workers) * FACTOR) + SLACK : Infinity;
  }

  /** At the start of a request: should its connection close after the response? */
  shouldShed(socket: Socket): boolean {
    const s = socket as Marked;
    if (this.shedding > 0 && s[kShed]) return true; // (no property read while nothing is shed: sockets' shapes vary)
    if (this.open - this.shedding <= this.limit) return false;
    // The limit is from the last tick, possibly from before a burst of connects (or from an idle
    // moment, when it is tiny): decide on the current counts, or every request until the next tick
    // would be shed (measured: 2,500 reconnects at the start of a load).
    this.rebalance();
    if (this.open - this.shedding <= this.limit) return false;
    s[kShed] = true;
    this.shedding++;
    return true;
  }

  /** The worker stops accepting: it no longer counts among the workers sharing the load. */
  leave(): void {
    if (this.cell >= 0) Atomics.store(this.cells, this.cell, LEFT);
    this.cell = -1;
    this.limit = Infinity;
  }

  private publish(): void {
    if (this.cell >= 0) Atomics.store(this.cells, this.cell, this.open);
  }
}
