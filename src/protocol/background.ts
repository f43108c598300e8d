// Messages of the background features (timers, crons, signals, mules, offload) between a thread
// (request worker or mule) and the master. Thread → master travels inside a CONTROL message as
// `{kind: 'bg', m}`; master → thread is `[BG, BgToThread]` on the thread's port.

import type { WireError } from './errors.js';

/** A schedule in uWSGI's cron fields (-1 or absent = any); src/config/cron.ts parses both forms. */
export interface CronFields {
  minute?: number;
  hour?: number;
  day?: number;
  month?: number;
  weekday?: number;
}

/** Tag of master → thread background messages (distinct from the request protocol's tags). */
export const BG = 40;

/**
 * Where a handler run, a signal or a message goes:
 *   'worker'        one free request worker (default)
 *   'workers'       every request worker slot (a busy one runs it between requests)
 *   'active-workers' every worker running right now
 *   'workerN'       worker N
 *   'mule' | 'muleN' | 'mules' | 'farm:NAME'
 */
export type Target = string;

/** A queued item of a mule: a user message, or a mulefunc call. */
export type MuleItem = { t: 'msg'; value: unknown } | { t: 'call'; name: string; args: unknown[] };

export type OffloadTask =
  | { src: string }
  | { module: string; export: string };

export type BgToMaster =
  | { op: 'timer'; name: string; ms: number; target: Target; unique: boolean }
  | { op: 'cron'; name: string; spec: string | CronFields; target: Target; unique: boolean }
  | { op: 'signal-reg'; key: string; target: Target }
  | { op: 'signal'; key: string }
  | { op: 'done'; runId: number; ok: boolean; missing?: boolean; error?: WireError }
  | { op: 'mule-msg'; callId: number; item: MuleItem; target: Target | number | undefined }
  | { op: 'offload'; callId: number; task: OffloadTask; args: unknown[]; timeoutMs: number }
  // mules only
  | { op: 'ready' }
  | { op: 'pull'; pullId: number }
  | { op: 'cancel-pull'; pullId: number };

export type RunKind = 'timer' | 'cron' | 'signal';

export type BgToThread =
  | { op: 'run'; runId: number; kind: RunKind; name: string; arg: unknown }
  | { op: 'reply'; callId: number; ok: boolean; value?: unknown; error?: WireError }
  // mules only
  | { op: 'item'; pullId: number; item: MuleItem }
  | { op: 'drain' };

/** The control message wrapper (a member of worker.ts's ControlMessage). */
export interface BgControl { kind: 'bg'; m: BgToMaster }

/** Handler names of signals in a thread's registry. */
export const signalHandlerName = (key: string): string => `signal:${key}`;
