// The requests a worker is running, in shared memory, so that the master can
// say which ones a worker too stuck to answer was running when it terminates it (HARAKIRI). One
// writer (the worker) and one reader (the master, only when the worker does not respond).
//
// Layout: Int32 word 0 is the entry whose handler the thread is running synchronously, + 1 (0 =
// none: between requests, or in a request's asynchronous continuation, which cannot be told
// apart cheaply). Then per entry: Int32 used, Int32 text length; Float64 receivedAt, deadline
// (monotonic ms, performance.timeOrigin + performance.now(); 0 = no deadline); TEXT_BYTES of
// UTF-8 "METHOD /path" (the query is left out: it may hold secrets). A request beyond ENTRIES
// in flight is not listed (the master still knows how many there are: OWN_IN_FLIGHT).

const ENTRIES = 32;
const TEXT_BYTES = 120;
const I32_HEADER = 2; // word 0: running; word 1: padding (keeps the Float64 area aligned)
const I32_WORDS = I32_HEADER + ENTRIES * 2;
const F64_OFFSET = I32_WORDS * 4;
const TEXT_OFFSET = F64_OFFSET + ENTRIES * 2 * 8;
export const REQUEST_TABLE_BYTES = TEXT_OFFSET + ENTRIES * TEXT_BYTES;

export interface ListedRequest {
  method: string;
  /** Without its query string. */
  path: string;
  /** Monotonic ms (performance.timeOrigin + performance.now()). */
  receivedAt: number;
  deadline: number;
  /** The thread was running this request's handler synchronously. */
  running: boolean;
}

/** This thread's clock origin, read once (the getter is a call into Node each time). */
export const timeOrigin = performance.timeOrigin;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Writes "METHOD /path" (the query left out) at `at`, at most TEXT_BYTES; returns the bytes
 * written. ASCII is copied by hand (TextEncoder's call costs more than a short line); anything
 * else goes through the encoder.
 */
function writeLine(out: Uint8Array, at: number, method: string, url: string): number {
  const q = url.indexOf('?');
  const pathEnd = q < 0 ? url.length : q;
  const len = Math.min(method.length + 1 + pathEnd, TEXT_BYTES);
  for (let i = 0; i < len; i++) {
    const c = i < method.length ? method.charCodeAt(i) : i === method.length ? 32 : url.charCodeAt(i - method.length - 1);
    if (c > 127) return encoder.encodeInto(`${method} ${url.slice(0, pathEnd)}`, out.subarray(at, at + TEXT_BYTES)).written;
    out[at + i] = c;
  }
  return len;
}

export class RequestTable {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly text: Uint8Array;
  /** What each entry's text was written from: a request like the entry's last one does not rewrite it. */
  private readonly methods: string[] = new Array<string>(ENTRIES).fill('');
  private readonly urls: string[] = new Array<string>(ENTRIES).fill('');

  constructor(sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab, 0, I32_WORDS);
    this.f64 = new Float64Array(sab, F64_OFFSET, ENTRIES * 2);
    this.text = new Uint8Array(sab, TEXT_OFFSET, ENTRIES * TEXT_BYTES);
  }

  // ---- the worker ----
  // Plain stores, not Atomics.store (a full memory fence each, four per request): the master reads
  // the table only once this thread has stopped responding, long after they were made, and a stale
  // value there would only list a request that had just finished, or miss one just begun.

  /** Lists a request from now; returns its entry, or -1 when the table is full (it goes unlisted). */
  add(method: string, url: string, receivedAt: number, deadline: number): number {
    for (let e = 0; e < ENTRIES; e++) {
      if (this.i32[I32_HEADER + e * 2] !== 0) continue;
      if (url !== this.urls[e] || method !== this.methods[e]) {
        this.i32[I32_HEADER + e * 2 + 1] = writeLine(this.text, e * TEXT_BYTES, method, url);
        this.methods[e] = method;
        this.urls[e] = url;
      }
      this.f64[e * 2] = timeOrigin + receivedAt;
      this.f64[e * 2 + 1] = deadline > 0 ? timeOrigin + deadline : 0;
      this.i32[I32_HEADER + e * 2] = 1;
      return e;
    }
    return -1;
  }

  setDeadline(entry: number, deadline: number): void {
    if (entry >= 0) this.f64[entry * 2 + 1] = deadline > 0 ? timeOrigin + deadline : 0;
  }

  remove(entry: number): void {
    if (entry >= 0) this.i32[I32_HEADER + entry * 2] = 0;
  }

  /** The thread enters (entry) or leaves (-1) a request's handler. */
  running(entry: number): void {
    this.i32[0] = entry + 1;
  }

  // ---- the master ----

  list(): ListedRequest[] {
    const running = Atomics.load(this.i32, 0) - 1;
    const out: ListedRequest[] = [];
    for (let e = 0; e < ENTRIES; e++) {
      if (Atomics.load(this.i32, I32_HEADER + e * 2) === 0) continue;
      const len = Math.min(this.i32[I32_HEADER + e * 2 + 1]!, TEXT_BYTES);
      // decode() refuses views of shared memory: copy first
      const line = decoder.decode(this.text.slice(e * TEXT_BYTES, e * TEXT_BYTES + len));
      const sp = line.indexOf(' ');
      out.push({
        method: line.slice(0, sp), path: line.slice(sp + 1),
        receivedAt: this.f64[e * 2]!, deadline: this.f64[e * 2 + 1]!, running: e === running,
      });
    }
    return out;
  }
}
