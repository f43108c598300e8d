// What a worker served since its last report, packed for the master: four numbers per request in
// one Float64Array (status, milliseconds, bytes out, exception 0/1). A typed array crosses threads
// as one copy; four JS arrays were cloned element by element, a measurable share of a small request.

/** Numbers per request: STATUS, MS, BYTES, EXCEPTION. */
export const SERVED_STRIDE = 4;
export const STATUS = 0;
export const MS = 1;
export const BYTES = 2;
export const EXCEPTION = 3;

/** The worker's side: appends requests, hands out the batch and starts a new one. */
export class ServedBatch {
  private buf = new Float64Array(64 * SERVED_STRIDE);
  private n = 0;

  get size(): number {
    return this.n;
  }

  add(status: number, ms: number, bytes: number, exception: boolean): void {
    let buf = this.buf;
    const at = this.n * SERVED_STRIDE;
    if (at + SERVED_STRIDE > buf.length) {
      const bigger = new Float64Array(buf.length * 2);
      bigger.set(buf);
      this.buf = buf = bigger;
    }
    buf[at + STATUS] = status;
    buf[at + MS] = ms;
    buf[at + BYTES] = bytes;
    buf[at + EXCEPTION] = exception ? 1 : 0;
    this.n++;
  }

  /** The requests added since the last take(), as a copy that fits them exactly. */
  take(): Float64Array {
    const out = this.buf.slice(0, this.n * SERVED_STRIDE);
    this.n = 0;
    return out;
  }
}
