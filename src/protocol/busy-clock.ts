// A worker's busy time, measured by the worker itself and read by the master
// (the cheaper's busyness) without sampling. Busy = at least one request the worker accepted is in
// flight; the busy time is the total length of those periods, however many requests overlap in
// them (the same definition the master uses for the requests it dispatches).
//
// One writer (the worker) and lock-free readers (the master), over the worker's ownState
// (worker.ts). A period that ends is not added to the total at once: its end goes to
// OWN_BUSY_UNTIL, one plain store, and is added to OWN_BUSY_MS when the next period starts. That
// start writes OWN_BUSY_MS and OWN_BUSY_SINCE and clears OWN_BUSY_UNTIL under a sequence word,
// odd while a write is in progress, so that a reader takes them consistently. A worker whose
// requests never overlap starts and ends a period per request: this way one of the two writes
// is a plain store, not two more atomic operations (each a call into V8 and a locked instruction).
// A reader adds the last period up to its end, or a running one up to its own `now`, so the
// figure is exact at any moment and does not go backwards (an end stored but not yet visible
// to the reader makes it count a running period for the few nanoseconds that takes).
//
// The clock is process.hrtime(): one monotonic clock for every thread of the process, unlike
// performance.now(), whose origin is each thread's start (and performance.timeOrigin, which comes
// from the wall clock at that start). Both read CLOCK_MONOTONIC, so monoMs() reads it through
// performance.now() plus the thread's offset to hrtime, measured once.
import { OWN_BUSY_MS, OWN_BUSY_SINCE, OWN_BUSY_UNTIL, OWN_IN_FLIGHT, OWN_SEQ_I32 } from './worker.js';

/** process.hrtime() in ms, read once per thread: performance.now() is the same clock from this thread's start. */
const threadOffset = hrtimeMs() - performance.now();

/**
 * Monotonic milliseconds (CLOCK_MONOTONIC: time since boot, never 0), the same in every thread.
 * Read as performance.now() plus this thread's offset: process.hrtime() allocates an array at
 * each call, and a worker's busy clock moves twice for every request it serves alone (there it
 * passes the performance.now() reading the request already took, through monoAt()).
 */
export function monoMs(): number {
  return performance.now() + threadOffset;
}

/** monoMs() at the moment this thread's performance.now() read `perfNow`: a clock read shared. */
export function monoAt(perfNow: number): number {
  return perfNow + threadOffset;
}

function hrtimeMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

/** The worker's side: publishes its in-flight count and keeps its busy time. */
export class BusyClock {
  private readonly f64: Float64Array;
  private readonly seq: Int32Array;
  private busy = false;
  /** The start and end of the last busy period (what OWN_BUSY_SINCE and OWN_BUSY_UNTIL hold). */
  private since = 0;
  private until = 0;

  constructor(ownState: SharedArrayBuffer, private readonly clock: () => number = monoMs) {
    this.f64 = new Float64Array(ownState);
    this.seq = new Int32Array(ownState);
  }

  /** The number of requests in flight changed to `n`, at `now` (a monoMs() reading; read here if not given). */
  inFlight(n: number, now?: number): void {
    const f = this.f64;
    f[OWN_IN_FLIGHT] = n;
    if ((n > 0) === this.busy) return;
    this.busy = n > 0;
    now ??= this.clock();
    if (!this.busy) {
      this.until = now;
      f[OWN_BUSY_UNTIL] = now; // the period ended; added to the total when the next one starts
      return;
    }
    Atomics.add(this.seq, OWN_SEQ_I32, 1);
    if (this.since > 0) f[OWN_BUSY_MS] = f[OWN_BUSY_MS]! + Math.max(0, this.until - this.since);
    f[OWN_BUSY_SINCE] = now;
    f[OWN_BUSY_UNTIL] = 0;
    Atomics.add(this.seq, OWN_SEQ_I32, 1);
    this.since = now;
  }
}

/**
 * The master's side: the worker's busy milliseconds since it started, including the last busy
 * period up to its end or, while it runs, up to `now` (a monoMs() reading). A writer that died in
 * the middle of a write (the thread was terminated) leaves the sequence odd: after a few retries
 * the cells are read as they are.
 */
export function readBusyMs(f64: Float64Array, seq: Int32Array, now: number = monoMs()): number {
  let total = 0;
  let since = 0;
  let until = 0;
  for (let attempt = 0; attempt < 100; attempt++) {
    const s0 = Atomics.load(seq, OWN_SEQ_I32);
    total = f64[OWN_BUSY_MS]!;
    since = f64[OWN_BUSY_SINCE]!;
    until = f64[OWN_BUSY_UNTIL]!;
    if ((s0 & 1) === 0 && Atomics.load(seq, OWN_SEQ_I32) === s0) break;
  }
  if (since === 0) return total;
  return total + Math.max(0, (until > 0 ? until : now) - since);
}
