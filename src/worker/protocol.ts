import type { ControlMessage } from '../api/context.js';
import type { RequestLogPolicy } from '../log/request-log.js';
import type { FlatHeaders } from '../front/exchange.js';
export type { ControlMessage };

// The messages between the master and a request worker. Arrays, not objects: they are cloned on
// every request, and a short array with a tag in slot 0 is the cheapest shape to clone.
//
// master → worker
//   [REQ, id, method, url, httpVersion, rawHeaders, remoteAddress, remotePort, localAddress,
//         localPort, body | null]
//   [ABORT, id]                       client went away, or harakiri's graceful stage
//   [STOP]                            finish what is in flight, then exit (recycle, reload, shutdown)
//   [LISTEN, ListenFd[], cell]        accept = workers: accept and serve on these descriptors, and
//                                     count the open connections in OwnHttpSettings.connections[cell]
//   [QUIT, message]                   answer the requests in flight 503 (message) and exit now
// worker → master
//   [READY]                           the app is loaded
//   [LOAD_FAILED, reason, message]    the app could not be loaded
//   [FULL, id, status, headers, body | null]   a complete response in one message (body: bytes, or a
//                                     string sent as UTF-8)
//   [HEAD, id, status, headers]       start of a streamed response
//   [CHUNK, id, data]
//   [END, id]
//   [FAIL, id, headSent, stack]       the handler threw
//   [CONTROL, ...]                    control-plane messages (labels, harakiri override, …)

export const REQ = 0;
export const ABORT = 1;
export const STOP = 2;
export const LISTEN = 3;
export const QUIT = 4;

/** What a shared listening socket speaks. */
export type SocketKind = 'http' | 'uwsgi';
/** A worker's own descriptor of a shared listening socket (src/master/shared-sockets.ts). */
export interface ListenFd { fd: number; kind: SocketKind }

/** Indexes into OwnHttpSettings.ownState (Float64). */
export const OWN_DEADLINE = 0;
export const OWN_IN_FLIGHT = 1;
/** Busy milliseconds of the busy periods that have ended (src/worker/busy-clock.ts). */
export const OWN_BUSY_MS = 2;
/** Start of the current busy period (process-wide monotonic ms, busy-clock.ts monoMs()); 0 = idle. */
export const OWN_BUSY_SINCE = 3;
/** Int32 index of the sequence word that guards OWN_BUSY_MS and OWN_BUSY_SINCE (a seqlock). */
export const OWN_SEQ_I32 = 8;
/** Size of OwnHttpSettings.ownState. */
export const OWN_STATE_BYTES = 40;

export const READY = 10;
export const LOAD_FAILED = 11;
export const FULL = 12;
export const HEAD = 13;
export const CHUNK = 14;
export const END = 15;
export const FAIL = 16;
export const CONTROL = 17;

export type { FlatHeaders };

export type RequestMessage = [
  typeof REQ, number, string, string, string, string[], string, number, string, number,
  Uint8Array | null,
];

export type WorkerMessage =
  | [typeof READY]
  | [typeof LOAD_FAILED, string, string]
  | [typeof FULL, number, number, FlatHeaders, Uint8Array | string | null]
  | [typeof HEAD, number, number, FlatHeaders]
  | [typeof CHUNK, number, Uint8Array]
  | [typeof END, number]
  | [typeof FAIL, number, boolean, string]
  | [typeof CONTROL, ControlMessage];


/** What the master hands a worker thread at spawn (workerData). */
export interface WorkerBoot {
  workerId: number;
  appPath: string;
  concurrency: number;
  label: string;
  threadName: string;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  /** The SharedCoreHandle of the master's shared memory. */
  shared: unknown;
  /** accept = workers: how to serve the HTTP connections this worker accepts itself. */
  ownHttp?: OwnHttpSettings;
}

export interface OwnHttpSettings {
  maxHeaderBytes: number;
  socketTimeoutMs: number;
  requestReadTimeoutMs: number;
  maxBodyBytes: number;
  /** Kernel accept queue of the shared sockets (listen). */
  backlog: number;
  harakiriMs: number;
  harakiriGraceMs: number;
  requestLog: RequestLogPolicy;
  /** At most this many requests run at once (0 = no cap); the rest wait in arrival order. */
  concurrency: number;
  /**
   * Int32 cells shared by every worker: each accepting worker's open connections (-1 = a cell no
   * accepting worker uses). A worker holding clearly more than its share of the connections
   * closes kept-alive ones after their response, so that clients reconnect to the others.
   */
  connections: SharedArrayBuffer;
  /**
   * What the worker keeps up to date for the master (OWN_STATE_BYTES): the earliest harakiri
   * deadline of the requests it accepted (OWN_DEADLINE, monotonic ms: performance.timeOrigin +
   * performance.now(); 0 = none), how many of them are in flight (OWN_IN_FLIGHT), and its busy
   * time (OWN_BUSY_MS, OWN_BUSY_SINCE, OWN_SEQ_I32; src/worker/busy-clock.ts). The worker answers
   * its deadlines itself; the master reads the cells to find a worker too stuck to, to count the
   * requests lost when it terminates one, and for the cheaper and the scoreboard.
   */
  ownState: SharedArrayBuffer;
}

/** Bodies at least this large travel as a transferred copy instead of a structured clone. */
const TRANSFER_AT = 64 * 1024;

/**
 * Bytes ready to post, and what to transfer. Cloning a typed array clones the entire buffer under
 * it (a pooled Buffer drags 8 KiB along), so a partial view is cut out first. The caller's buffer
 * is never transferred (the app may reuse it); large bodies are copied once and the copy moved.
 */
export function wireBytes(view: Uint8Array): { data: Uint8Array; transfer: ArrayBuffer[] } {
  if (view.byteLength >= TRANSFER_AT) {
    const copy = view.slice();
    return { data: copy, transfer: [copy.buffer] };
  }
  const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength &&
    !(view.buffer instanceof SharedArrayBuffer);
  return { data: whole ? view : view.slice(), transfer: [] };
}
