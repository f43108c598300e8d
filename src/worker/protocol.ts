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
//   [LISTEN, fds]                     accept = workers: accept and serve HTTP on these descriptors
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

/** Indexes into OwnHttpSettings.ownState. */
export const OWN_DEADLINE = 0;
export const OWN_IN_FLIGHT = 1;

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
  maxBodyBytes: number;
  /** Kernel accept queue of the shared sockets (listen). */
  backlog: number;
  harakiriMs: number;
  harakiriGraceMs: number;
  requestLog: RequestLogPolicy;
  /**
   * Two Float64 the worker keeps up to date for the master (OWN_DEADLINE, OWN_IN_FLIGHT): the
   * earliest harakiri deadline of the requests it accepted (monotonic ms: performance.timeOrigin +
   * performance.now(); 0 = none), and how many of them are in flight. The worker answers its
   * deadlines itself; the master reads the cells to find a worker too stuck to, and to count the
   * requests lost when it terminates one.
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
