// Fair turns for CPU-bound handlers. A worker's event loop runs, in one turn, the handler of every
// request that became ready; with 2 ms handlers and 128 kept-alive connections a turn lasts a
// quarter of a second, and libuv takes new connections from the kernel's accept queue only about
// once per turn. Under 256 connections of 2 ms requests, new connections then waited in that queue
// for seconds (wrk: ~100 timeouts, for node:http's own threads as much as for Spindle).
//
// Here a turn runs handlers until they have used TURN_BUDGET_MS of synchronous time; the requests
// that became ready after that wait, in arrival order, and run from setImmediate, the same budget
// per turn, with a poll of the sockets (accepts included) between turns. A handler that returns in
// microseconds never reaches the budget, so fast apps run exactly as before.

/** Synchronous handler time one loop turn may spend before the next ready requests wait a turn. */
export const TURN_BUDGET_MS = 5;

/** Starts a request; false if there was nothing left to start (the client went away). */
export type Start = () => boolean;

export class TurnBudget {
  private readonly waiting: Start[] = [];
  private head = 0;
  /** Handler time spent in this turn (ms), and when the last request started. */
  private spent = 0;
  private lastStart = -Infinity;
  /** A setImmediate is pending: a new turn runs what waits. */
  private scheduled = false;

  /**
   * `now`: Date.now() by default, read once per request: the time since the previous start is
   * that request's handler time while requests follow each other in a turn, and a gap longer than
   * the budget (the loop was idle or polling) starts a new turn. Millisecond steps average out
   * over many requests; performance.now() cost several thousand instructions a request here.
   */
  constructor(private readonly now: () => number = Date.now) {}

  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** May a request start now? Yes while this turn has budget left and nothing waits. */
  mayStart(): boolean {
    const t = this.now();
    const gap = t - this.lastStart;
    this.lastStart = t;
    this.spent = gap > TURN_BUDGET_MS ? 0 : this.spent + gap;
    return this.queued === 0 && this.spent < TURN_BUDGET_MS;
  }

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
    this.spent = 0;
    this.lastStart = this.now();
    while (this.queued > 0 && this.spent < TURN_BUDGET_MS) {
      const start = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined as unknown as Start;
      start();
      const t = this.now();
      this.spent += t - this.lastStart;
      this.lastStart = t;
    }
    if (this.queued > 0) {
      setImmediate(this.nextTurn);
      return;
    }
    this.waiting.length = 0;
    this.head = 0;
    this.scheduled = false;
  };
}
