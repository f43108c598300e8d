// The messages between the supervising parent (src/parent/parent.ts) and the server process it
// runs (src/master/parent-link.ts). Imports nothing: both sides load it.
//
// Full-reload handover messages ({ spindle: … }, src/protocol/handover.ts) travel on the same
// channel: the parent either answers them itself (it restarts a crashed server and hands it the
// sockets it holds) or relays them between an old server and its successor.
import type { SocketMeta } from './handover.js';

/** Set in the server's environment: the parent's pid. Not SPINDLE_*: those are options. */
export const SUPERVISED_ENV = '_SPINDLE_PARENT';

export type ServerToParent =
  /** The sockets this server serves on; one 'hold-socket' with each handle follows. */
  | { spindleParent: 'hold'; list: SocketMeta[] }
  | { spindleParent: 'hold-socket'; index: number }
  /** Full reload: start a successor (same command line) that will take over from this server. */
  | { spindleParent: 'spawn-successor'; reason: string }
  /** A handover message (with its handle, if any) for the successor. */
  | { spindleParent: 'to-successor'; msg: unknown }
  /** The handover is over: stop relaying between this server and its successor. */
  | { spindleParent: 'detach-successor' }
  /** Send the handle that comes with this back: a new descriptor for the same socket (for a worker). */
  | { spindleParent: 'copy'; seq: number };

export type ParentToServer =
  | { spindleParent: 'successor-spawned'; pid: number }
  | { spindleParent: 'successor-failed'; error: string }
  | { spindleParent: 'from-successor'; msg: unknown }
  | { spindleParent: 'successor-exit'; code: number | null; signal: string | null }
  | { spindleParent: 'copied'; seq: number };

export const isParentMessage = (m: unknown): m is { spindleParent: string } =>
  typeof m === 'object' && m !== null && 'spindleParent' in m;
