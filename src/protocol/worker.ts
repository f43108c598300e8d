import type { BgControl } from './background.js';

// The messages between the master and a request worker. Arrays with a tag in slot 0.
//
// master → worker
//   [STOP]                            finish what is in flight, then exit (recycle, reload, shutdown)
//   [LISTEN, ListenFd[], cell]        accept and serve on these descriptors, and count the open
//                                     connections in OwnHttpSettings.connections[cell]
//   [QUIT, message]                   answer the requests in flight 503 (message) and exit now
//   [BG, …]                           background work (protocol/background.ts)
// worker → master
//   [READY]                           the app is loaded
//   [LOAD_FAILED, reason, message]    the app could not be loaded
//   [CONTROL, ...]                    control-plane messages (served batches, background work, …)
// A worker's state, heap and label are not messages: they live in the scoreboard (shm/scoreboard.ts).

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
/** Busy milliseconds of the busy periods that have ended (src/protocol/busy-clock.ts). */
export const OWN_BUSY_MS = 2;
/** Start of the current or last busy period (process-wide monotonic ms, busy-clock.ts monoMs()); 0 = none yet. */
export const OWN_BUSY_SINCE = 3;
/** Int32 index of the sequence word that guards OWN_BUSY_MS, OWN_BUSY_SINCE and the reset of OWN_BUSY_UNTIL (a seqlock). */
export const OWN_SEQ_I32 = 8;
/** End of the last busy period, not yet added to OWN_BUSY_MS; 0 while a period runs. */
export const OWN_BUSY_UNTIL = 5;
/** Size of OwnHttpSettings.ownState. */
export const OWN_STATE_BYTES = 48;

export const READY = 10;
export const LOAD_FAILED = 11;
export const CONTROL = 17;

/** Control-plane messages from a worker to the master; the request hot path never uses them. */
export type ControlMessage =
  | { kind: 'harakiri'; requestId: number; seconds: number }
  // requests the worker served since the last report
  // (packed, protocol/served-batch.ts), and how many of them it answered 504 at their harakiri deadline
  | { kind: 'served'; requests: Float64Array; harakiris: number }
  // the app loaded another copy of the package than the server's (api/copies.ts)
  | { kind: 'other-copy'; server: string; app: string }
  | BgControl;

export type WorkerMessage =
  | [typeof READY]
  | [typeof LOAD_FAILED, string, string]
  | [typeof CONTROL, ControlMessage];


/** What the master hands a worker thread at spawn (workerData). */
export interface WorkerBoot {
  workerId: number;
  appPath: string;
  /** The export to serve (callable); undefined = detect (load-app.ts). */
  appExport?: string;
  concurrency: number;
  threadName: string;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  /** logto: the descriptor of the log file (threads share the process's descriptors); default 1. */
  logFd?: number;
  /** The SharedCoreHandle of the master's shared memory. */
  shared: unknown;
  /** How to serve the HTTP connections this worker accepts itself. */
  ownHttp: OwnHttpSettings;
}

/** Which requests the worker logs (src/log/request-log.ts). */
export interface RequestLogPolicy {
  /** Log every request (log-requests), not only the ones below. */
  logRequests: boolean;
  log4xx: boolean;
  log5xx: boolean;
  /** Log requests slower than this (0 = off). */
  logSlowMs: number;
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
   * time (OWN_BUSY_MS, OWN_BUSY_SINCE, OWN_BUSY_UNTIL, OWN_SEQ_I32; src/protocol/busy-clock.ts). The worker answers
   * its deadlines itself; the master reads the cells to find a worker too stuck to, to count the
   * requests lost when it terminates one, and for the cheaper and the scoreboard.
   */
  ownState: SharedArrayBuffer;
  /** The requests in flight, for the master's HARAKIRI log line (src/protocol/request-table.ts). */
  requestTable: SharedArrayBuffer;
}
