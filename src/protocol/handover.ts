// The full-reload handover between an old server process and the new one taking its listening
// sockets over (src/master/full-reload/): the old side sends the sockets, the new side answers
// with how far it got. The supervising parent (src/parent/parent.ts) relays these messages, and
// after a crash plays the old side itself. Imports nothing: every side loads it.
//
// In order: ready → sockets, then one socket per handle → adopted → released → serving (or failed,
// at any point). What each side does between them: src/master/full-reload/recycler.ts.

/** Set in a server's environment when it takes over sockets (full reload, restart): "PID:REASON". */
export const HANDOVER_ENV = '_SPINDLE_HANDOVER_FROM';

/** A listening socket as the handover describes it. */
export interface SocketMeta { kind: 'http' | 'uwsgi'; spec: string; url: string; host?: string; port?: number; unixPath?: string }

/** From the old process (or the parent) to the new one. */
export type ToNewServer =
  | { spindle: 'sockets'; list: SocketMeta[] }
  | { spindle: 'socket'; index: number }
  | { spindle: 'released' };

/** From the new process to the old one (or the parent). */
export type ToOldServer =
  | { spindle: 'ready' }
  /** urls: the sockets it took (the others are no longer configured: the old process closes and vacuums them) */
  | { spindle: 'adopted'; urls?: string[] }
  | { spindle: 'serving'; pid: number }
  | { spindle: 'failed'; reason: string };
