// The earliest harakiri deadline among a worker's requests in flight: the worker checks its
// requests when it passes, and the master reads it to tell a stuck worker (OWN_DEADLINE).
//
// Requests begin in deadline order (each gets its arrival time + harakiri), so the earliest is the
// oldest still in flight: a queue in begin order, whose finished entries are dropped from its head
// as it is read. The few whose deadline changed after they began (setHarakiri(), harakiri's
// graceful stage) are kept apart and scanned. Recomputing over every request in flight whenever
// the earliest finished cost 0.6 µs a request at 32 in flight, and grows with them.

export interface Timed {
  /** -1 once it is no longer in flight (slot-list.ts). */
  readonly slot: number;
  readonly deadline: number;
  /** Its deadline changed after it began: it is among the `moved`, not ordered in the queue. */
  deadlineMoved: boolean;
}

export class EarliestDeadline<T extends Timed> {
  private queue: (T | undefined)[] = [];
  private head = 0;
  private moved: T[] = [];

  /** A request began (`inFlight` are now). Requests that begin later never have an earlier deadline. */
  began(r: T, inFlight: number): void {
    if (r.deadline <= 0) return;
    this.queue.push(r);
    // Finished ones pile up behind a long request (earliest() may not be read for a long time).
    if (this.queue.length - this.head > 2 * inFlight + 64) this.compact();
  }

  /** The deadline of `r` changed after it began. */
  changed(r: T): void {
    if (r.deadlineMoved) return;
    r.deadlineMoved = true;
    this.moved.push(r);
  }

  /** No request is in flight. */
  clear(): void {
    // Fresh arrays, not `length = 0`: that is a call into the runtime, and a worker whose requests
    // never overlap clears after every one of them.
    if (this.queue.length > 0) this.queue = [];
    this.head = 0;
    if (this.moved.length > 0) this.moved = [];
  }

  /** The earliest deadline of the requests still in flight (`inFlight` of them); 0 = none. */
  earliest(inFlight: number): number {
    const q = this.queue;
    while (this.head < q.length && !ordered(q[this.head]!)) q[this.head++] = undefined;
    if (q.length - this.head > 2 * inFlight + 64 || (this.head > 1024 && this.head * 2 > q.length)) this.compact();
    let earliest = this.head < this.queue.length ? this.queue[this.head]!.deadline : 0;
    const m = this.moved;
    for (let i = m.length - 1; i >= 0; i--) {
      const r = m[i]!;
      if (r.slot < 0) {
        m[i] = m[m.length - 1]!; // an entry already visited takes its place
        m.pop();
      } else if (r.deadline > 0 && (earliest === 0 || r.deadline < earliest)) {
        earliest = r.deadline;
      }
    }
    return earliest;
  }

  private compact(): void {
    const kept: T[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const r = this.queue[i];
      if (r !== undefined && ordered(r)) kept.push(r);
    }
    this.queue = kept;
    this.head = 0;
  }
}

/** Still in flight, with the deadline it began with. */
function ordered(r: Timed): boolean {
  return r.slot >= 0 && !r.deadlineMoved;
}
