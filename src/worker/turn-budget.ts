// Fair turns for CPU-bound handlers. A worker's event loop runs, in one turn, the handler of every
// request that became ready; with 2 ms handlers and 128 kept-alive connections a turn lasts a
// quarter of a second, and libuv takes new connections from the kernel's accept queue only about
// once per turn. Under 256 connections of 2 ms requests, new connections then waited in that queue
// for seconds (wrk: ~100 timeouts, for node:http's own threads as much as for Spindle).
//
// Here a turn starts handlers until TURN_BUDGET_MS have passed since its budget window opened (see
// mayStart: one budget, at most about two); the requests that became ready after that wait, in
// arrival order, and run from setImmediate, the same budget per turn, with a poll of the sockets
// (accepts included) between turns. A handler that returns in microseconds never reaches the
// budget, so fast apps run exactly as before.

/** How long one loop turn may go on starting handlers before the next ready requests wait a turn. */
export const TURN_BUDGET_MS = 5;

import { StartQueue, type Start } from './start-queue.js';

export class TurnBudget {
  private readonly waiting = new StartQueue();
  /** When the current budget window opened: the first request it let start; -1 before any. */
  private windowStart = -1;
  /** A setImmediate is pending that ends the window with this loop turn. */
  private closing = false;
  /** A setImmediate is pending: a new turn runs what waits. */
  private scheduled = false;

  /** `now`: the clock (ms) for the turns run from setImmediate; mayStart() takes the caller's reading. */
  constructor(private readonly now: () => number = () => performance.now()) {}

  get queued(): number {
    return this.waiting.size;
  }

  /**
   * May a request start now? Yes while the window is younger than the budget and nothing waits.
   * A window opens at a request, and a setImmediate (which runs once the loop has finished this
   * turn's I/O) ends it with this loop turn. A later turn that starts within the budget of the
   * last window's opening runs in it without opening its own: a setImmediate per loop turn cost
   * about 5 % of a request's instructions when each turn holds one request. The price is that a
   * turn may run up to about two budgets (the rest of the old window, then its own). Measuring
   * from a window's first request, not summing the gaps between requests, matters under steady
   * load: then the loop never idles, and summed gaps would grow until fast requests waited.
   * `t`: the caller's reading of the same clock, when it has one for the request anyway.
   */
  mayStart(t: number = this.now()): boolean {
    // (t < windowStart: a clock that went back, as a wall clock can; a window must not outlive that.)
    if (this.windowStart < 0 || (!this.closing && (t - this.windowStart >= TURN_BUDGET_MS || t < this.windowStart))) {
      this.windowStart = t;
      this.closing = true;
      setImmediate(this.closeWindow);
    }
    return this.queued === 0 && t - this.windowStart < TURN_BUDGET_MS;
  }

  private readonly closeWindow = (): void => {
    this.closing = false;
  };

  /** A request that may not start now (mayStart() said no): it runs in a later turn, in arrival order. */
  wait(start: Start): void {
    this.waiting.push(start);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.nextTurn);
    }
  }

  /** After a poll of the sockets: a fresh budget for the waiting requests. */
  private readonly nextTurn = (): void => {
    const began = this.now();
    while (this.waiting.size > 0 && this.now() - began < TURN_BUDGET_MS) this.waiting.shift()();
    if (this.waiting.size > 0) {
      setImmediate(this.nextTurn);
      return;
    }
    this.scheduled = false;
  };
}
