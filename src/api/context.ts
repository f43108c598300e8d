// Per-thread and per-request facts the runtime API needs: which worker this is, how to reach the
// master, and which request is running (request-scope.ts).
import { writeFileSync } from 'node:fs';
import { SpindleError, SpindleRangeError } from '../errors.js';
import type { ControlMessage } from '../protocol/worker.js';
import { currentRequest } from './request-scope.js';

interface ThreadInfo {
  kind: 'worker' | 'mule' | 'none';
  workerId: number;
  send: (msg: ControlMessage) => void;
  /** Writes this thread's label where the master reads it (its scoreboard slot). */
  setLabel?: (label: string) => void;
}

let thread: ThreadInfo = { kind: 'none', workerId: 0, send: () => {} };
let label = '';

/** This thread's kind and master link (the background API sends through it). */
export function threadInfo(): Readonly<ThreadInfo> {
  return thread;
}

/** Called once by the worker thread's entry. */
export function installThreadInfo(info: ThreadInfo): void {
  thread = info;
}

/** The id (1..processes) of the worker running this code; 0 outside a Spindle worker. */
export function workerId(): number {
  return thread.workerId;
}

/**
 * Names this worker, as uWSGI's setprocname does: the label shows in stats and `spindle top`, and
 * the OS thread takes its first 15 bytes (Linux's limit), visible in `ps -L` and `top -H`.
 * Outside Spindle it only remembers the label.
 */
export function setProcname(name: string): void {
  label = String(name);
  if (thread.kind !== 'worker') return;
  setThreadName(label);
  thread.setLabel?.(label);
}

/** The label last given to setProcname in this thread. */
export function getProcname(): string {
  return label;
}

/**
 * Sets the harakiri limit of the request being handled, in seconds. The effective limit is the
 * lesser of this and the global `harakiri`; it lasts until the request ends.
 */
export function setHarakiri(seconds: number): void {
  if (!(typeof seconds === 'number' && seconds > 0 && Number.isFinite(seconds))) {
    throw new SpindleRangeError('INVALID_ARGUMENT', `setHarakiri(${String(seconds)}): expected a positive number of seconds`);
  }
  const requestId = currentRequest();
  if (requestId === undefined) {
    throw new SpindleError('NOT_IN_SPINDLE', 'setHarakiri() must be called while a request is being handled: in its handler, or after an await in it (on Node 20 and 22, not from a timer or event callback)');
  }
  if (thread.kind === 'worker') thread.send({ kind: 'harakiri', requestId, seconds });
}

/** Renames the calling OS thread (Linux keeps 15 bytes). Best effort: other systems ignore it. */
export function setThreadName(name: string): void {
  const bytes = Buffer.from(name, 'utf8');
  let end = Math.min(bytes.length, 15);
  while (end > 0 && end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--; // keep whole characters
  try {
    writeFileSync('/proc/thread-self/comm', bytes.subarray(0, end));
  } catch {
    // not Linux, or /proc not mounted: the label still shows in stats
  }
}
