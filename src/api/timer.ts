// Timers and crons: `timer(seconds, fn)`, `msTimer(ms, fn)`, `cron(spec, fn)`.
//
// The app module runs in every worker, so each worker registers the same timer; the master keeps
// ONE timer per name (explicit `name`, else the call site `file:line:col`) and, when it fires,
// runs the handler once in the target (default: one free worker), between requests. Outside
// Spindle the handler is only remembered (nothing fires), so an app's unit tests can import it.
import { SpindleRangeError, SpindleTypeError } from '../errors.js';
import { parseSchedule, type CronFields } from '../config/cron.js';
import { callSite, checkTarget, hasMaster, registerHandler, sendToMaster } from './bg-thread.js';
import type { Target } from '../protocol/background.js';

export interface TimerOptions {
  /** Where the handler runs (default 'worker': one free worker). */
  target?: Target;
  /** Skip a run while the previous run of this timer is still running or waiting (logged). */
  unique?: boolean;
  /** Stable name; default: the call site. Give one when the call site is shared (a helper). */
  name?: string;
}

/** The context a timer or cron handler receives. */
export interface TimerTick {
  name: string;
  /** 1, 2, 3, … for timers; the minute (epoch ms of its start) for crons */
  tick: number;
}

export type TimerHandler = (tick: TimerTick) => unknown;

/** Runs `fn` every `seconds` (first run one interval after registration). Returns the timer's name. */
export function timer(seconds: number, fn: TimerHandler, opts: TimerOptions = {}): string {
  if (!(typeof seconds === 'number' && seconds > 0 && Number.isFinite(seconds))) {
    throw new SpindleRangeError('INVALID_ARGUMENT', `timer(${String(seconds)}): expected a positive number of seconds`);
  }
  return register('timer', seconds * 1000, fn, opts);
}

/** Like timer(), in milliseconds (at least 10). */
export function msTimer(ms: number, fn: TimerHandler, opts: TimerOptions = {}): string {
  if (!(typeof ms === 'number' && ms >= 10 && Number.isFinite(ms))) {
    throw new SpindleRangeError('INVALID_ARGUMENT', `msTimer(${String(ms)}): expected at least 10 milliseconds`);
  }
  return register('timer', ms, fn, opts);
}

/**
 * Runs `fn` once in every minute that matches `spec`: a crontab string ("20 * * * *",
 * "*&#47;5 9-17 * * 1-5") or uWSGI's fields {minute, hour, day, month, weekday} (-1 any, -N every
 * Nth). Local time. Returns the cron's name.
 */
export function cron(spec: string | CronFields, fn: TimerHandler, opts: TimerOptions = {}): string {
  if (typeof spec !== 'string' && (typeof spec !== 'object' || spec === null)) {
    throw new SpindleTypeError('INVALID_ARGUMENT', `cron(${String(spec)}): the schedule must be a crontab string such as '20 * * * *' or {minute, hour, day, month, weekday}`);
  }
  try {
    parseSchedule(spec);
  } catch (err) {
    throw new SpindleRangeError('INVALID_ARGUMENT', `cron(): ${(err as Error).message}`, { cause: err });
  }
  return register('cron', spec, fn, opts);
}

function register(kind: 'timer' | 'cron', when: number | string | CronFields, fn: TimerHandler, opts: TimerOptions): string {
  if (typeof fn !== 'function') throw new SpindleTypeError('INVALID_ARGUMENT', `${kind}(): the handler must be a function`);
  const target = checkTarget(opts.target ?? 'worker', `${kind}()`);
  const name = opts.name ?? `${kind}@${callSite().name}`;
  registerHandler(`${kind}:${name}`, fn as (arg: unknown) => unknown);
  if (!hasMaster()) return name;
  const unique = Boolean(opts.unique);
  if (kind === 'timer') sendToMaster({ op: 'timer', name, ms: when as number, target, unique });
  else sendToMaster({ op: 'cron', name, spec: when as string | CronFields, target, unique });
  return name;
}
