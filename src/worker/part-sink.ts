// The adapters' ResponseSink: turns what the app produces into response parts for the client
// (front/response-messages.ts). A response that completes within the tick it started in (the
// common case) is one FULL part; one that is still producing body after that tick is streamed as
// HEAD, CHUNK…, END, with the chunks of one tick coalesced.
import type { ResponseHeaders, ResponseSink } from './app-types.js';
import type { FlatHeaders } from '../front/exchange.js';
import { FULL, HEAD, CHUNK, END, type ResponsePart } from '../front/response-messages.js';

type WritePart = (part: ResponsePart) => void;

/** Body bytes gathered before drained() writes them out ahead of the end of the tick. */
const FLUSH_BYTES = 64 * 1024;

export class PartSink implements ResponseSink {
  headSent = false;
  ended = false;
  private status = 0;
  private headers: FlatHeaders | null = null;
  private pending: Uint8Array[] = [];
  private streaming = false;
  private flushScheduled = false;
  private abandoned = false;
  private pendingBytes = 0;

  /** `room`: the writer's backpressure (see drained()). */
  constructor(private readonly write: WritePart, private readonly room?: () => Promise<void> | undefined) {}

  head(status: number, headers: ResponseHeaders): void {
    if (this.headers || this.abandoned) throw new Error('response head sent twice'); // invariant: ResponseGuard (adapters/guard.ts) calls each step once, in order
    this.status = status;
    const flat: FlatHeaders = [];
    for (const [k, v] of headers) flat.push(k, v);
    this.headers = flat;
    this.scheduleFlush();
  }

  chunk(data: Uint8Array): void {
    if (this.ended || this.abandoned) throw new Error('response body written after end'); // invariant: as above
    if (!this.headers) throw new Error('response body written before head'); // invariant: as above
    if (data.byteLength === 0) return;
    this.pending.push(data);
    this.pendingBytes += data.byteLength;
    this.scheduleFlush();
  }

  /**
   * Backpressure: a lot pending is written now rather than at the end of the tick, then the
   * writer says whether it has room (undefined) or when it will (a promise).
   */
  drained(): Promise<void> | undefined {
    if (this.room === undefined || this.ended || this.abandoned) return undefined;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    return this.room();
  }

  end(): void {
    if (this.ended || this.abandoned) return;
    if (!this.headers) throw new Error('response ended before head'); // invariant: as above
    this.ended = true;
    if (!this.streaming) {
      const body = concat(this.pending);
      this.pending = [];
      this.headSent = true;
      this.write([FULL, this.status, this.headers, body]);
      return;
    }
    this.flush();
    this.write([END]);
  }

  /**
   * A complete response at once (ResponseGuard.full): one FULL message, with nothing scheduled
   * and no copy; a string body travels as it is (the front writes it as UTF-8).
   */
  full(status: number, headers: ResponseHeaders, body: string | Uint8Array | null): void {
    if (this.headers || this.abandoned) throw new Error('response head sent twice'); // invariant: ResponseGuard (adapters/guard.ts) calls each step once, in order
    const flat: FlatHeaders = [];
    for (let i = 0; i < headers.length; i++) flat.push(headers[i]![0], headers[i]![1]);
    this.status = status;
    this.headers = flat;
    this.ended = true;
    this.headSent = true;
    this.write([FULL, status, flat, body !== null && body.length > 0 ? body : null]);
  }

  /** The handler failed: send nothing more for this request. */
  abandon(): void {
    this.abandoned = true;
    this.pending = [];
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Most responses end in the same synchronous run as their head: check after it (a microtask
    // is far cheaper than an immediate) and only then wait for the end of the tick.
    queueMicrotask(() => {
      if (this.ended || this.abandoned) {
        this.flushScheduled = false;
        return;
      }
      setImmediate(() => {
        this.flushScheduled = false;
        if (!this.ended && !this.abandoned) this.flush();
      });
    });
  }

  private flush(): void {
    if (!this.streaming) {
      this.streaming = true;
      this.headSent = true;
      this.write([HEAD, this.status, this.headers!]);
    }
    const body = concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    if (body) {
      this.write([CHUNK, body]);
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array | null {
  if (parts.length === 0) return null;
  if (parts.length === 1) return parts[0]!;
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.byteLength; }
  return out;
}
