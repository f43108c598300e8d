// Cron schedules: a crontab string ("20 * * * *", "*/5 9-17 * * 1-5") or uWSGI's five fields
// (minute, hour, day, month, weekday: a value ≥ 0 matches exactly, -1 any, -N every Nth value).
// Pure code (no node: imports), shared by the option table (command crons), the runtime API
// (`cron()` throws at registration on a bad spec) and the master (matching). A bad schedule or line
// throws CONFIG_INVALID_VALUE naming it; the API turns that into its INVALID_ARGUMENT.
//
// Day of month and weekday follow uWSGI and crontab: when BOTH are explicit they are ORed
// (either matches); otherwise every field must match. In uWSGI fields, explicit = a value ≥ 0; in a
// crontab string, explicit = the field does not start with '*'. Weekday 0 and 7 are Sunday.

import type { CronFields } from '../protocol/background.js';
import { SpindleError } from '../errors.js';
export type { CronFields };

/** A parsed schedule: per field the matching values (null = any) and whether it is explicit. */
export interface CronSchedule {
  minute: number[] | null;
  hour: number[] | null;
  day: number[] | null;
  month: number[] | null;
  weekday: number[] | null;
  dayExplicit: boolean;
  weekdayExplicit: boolean;
  /** The spec as written, for logs. */
  text: string;
}

const FIELDS = [
  ['minute', 0, 59],
  ['hour', 0, 23],
  ['day', 1, 31],
  ['month', 1, 12],
  ['weekday', 0, 7],
] as const;
type FieldName = (typeof FIELDS)[number][0];

const bad = (message: string) => new SpindleError('CONFIG_INVALID_VALUE', message);
const CRONTAB_FORMS = "N, N-M, *, */N, N-M/S, or lists of these with ','";

const range = (lo: number, hi: number, step = 1): number[] => {
  const out: number[] = [];
  for (let v = lo; v <= hi; v += step) out.push(v);
  return out;
};

const normWeekdays = (vals: number[]): number[] => [...new Set(vals.map((v) => (v === 7 ? 0 : v)))].sort((a, b) => a - b);

/** A uWSGI field value: -1 any, -N every Nth (value mod N == 0), N ≥ 0 exactly N. */
function uwsgiField(name: FieldName, lo: number, hi: number, v: number | undefined): number[] | null {
  if (v === undefined || v === -1) return null;
  if (!Number.isInteger(v)) throw bad(`cron ${name} ${String(v)} is not an integer; give -1 (any), -N (every Nth) or a value ${lo}..${hi}`);
  if (v < 0) return range(lo, hi).filter((x) => x % -v === 0);
  if (v < lo || v > hi) throw bad(`cron ${name} ${v} is out of range; give -1 (any), -N (every Nth) or a value ${lo}..${hi}`);
  return [v];
}

/** uWSGI fields → schedule. */
function scheduleFromFields(f: CronFields, text?: string): CronSchedule {
  const known = new Set(FIELDS.map((x) => x[0] as string));
  for (const key of Object.keys(f)) {
    if (!known.has(key)) throw bad(`unknown cron field '${key}'; the fields are minute, hour, day, month, weekday`);
  }
  const s: Partial<Record<FieldName, number[] | null>> = {};
  for (const [name, lo, hi] of FIELDS) s[name] = uwsgiField(name, lo, hi, f[name]);
  return {
    minute: s.minute!, hour: s.hour!, day: s.day!, month: s.month!,
    weekday: s.weekday ? normWeekdays(s.weekday) : null,
    dayExplicit: (f.day ?? -1) >= 0,
    weekdayExplicit: (f.weekday ?? -1) >= 0,
    text: text ?? FIELDS.map(([n]) => `${n}=${f[n] ?? -1}`).join(','),
  };
}

function crontabField(name: FieldName, lo: number, hi: number, src: string): number[] | null {
  if (src === '*') return null;
  const out = new Set<number>();
  for (const part of src.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw bad(`cron ${name} '${part}' is not a crontab value; write ${CRONTAB_FORMS}`);
    const step = m[4] ? Number(m[4]) : 1;
    if (step < 1) throw bad(`cron ${name} '${part}': the step must be at least 1`);
    let a = lo;
    let b = hi;
    if (m[1] !== '*') {
      a = Number(m[2]);
      b = m[3] !== undefined ? Number(m[3]) : (m[4] ? hi : a);
    }
    if (a < lo || b > hi || a > b) throw bad(`cron ${name} '${part}' is out of range; the ${name} is ${lo}..${hi}`);
    for (const v of range(a, b, step)) out.add(v);
  }
  return [...out].sort((x, y) => x - y);
}

/** A five-field crontab string → schedule. */
function scheduleFromCrontab(spec: string): CronSchedule {
  const parts = spec.trim().split(/\s+/);
  if (parts.length !== 5) throw bad(`cron '${spec}' needs 5 fields (minute hour day month weekday), got ${parts.length}; e.g. '20 * * * *'`);
  const s: Partial<Record<FieldName, number[] | null>> = {};
  FIELDS.forEach(([name, lo, hi], i) => { s[name] = crontabField(name, lo, hi, parts[i]!); });
  return {
    minute: s.minute!, hour: s.hour!, day: s.day!, month: s.month!,
    weekday: s.weekday ? normWeekdays(s.weekday) : null,
    dayExplicit: !parts[2]!.startsWith('*'),
    weekdayExplicit: !parts[4]!.startsWith('*'),
    text: parts.join(' '),
  };
}

/** Either form → schedule (throws CONFIG_INVALID_VALUE naming the bad part). */
export function parseSchedule(spec: string | CronFields): CronSchedule {
  if (typeof spec === 'string') return scheduleFromCrontab(spec);
  if (spec && typeof spec === 'object') return scheduleFromFields(spec);
  throw bad(`a cron schedule is a crontab string such as '20 * * * *' or {minute, hour, day, month, weekday} (got ${String(spec)})`);
}

/** Does local time `d` fall in a matching minute? */
export function matches(s: CronSchedule, d: Date): boolean {
  const has = (set: number[] | null, v: number) => set === null || set.includes(v);
  if (!has(s.minute, d.getMinutes()) || !has(s.hour, d.getHours()) || !has(s.month, d.getMonth() + 1)) return false;
  const dom = has(s.day, d.getDate());
  const dow = has(s.weekday, d.getDay());
  return s.dayExplicit && s.weekdayExplicit ? dom || dow : dom && dow;
}

/** A command cron from the config. */
export interface CommandCron {
  schedule: CronSchedule;
  command: string;
  unique: boolean;
  /** seconds; undefined = the global cron-harakiri; 0 = never kill */
  harakiri?: number;
  /** the config line, for logs */
  line: string;
}

/** uWSGI `cron = "M H D MON W command"`: five integers (-1 any, -N every N), then the command. */
export function parseCronLine(line: string, unique = false): CommandCron {
  const m = /^\s*(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(\S.*)$/.exec(line);
  if (!m) {
    throw bad(`cron '${line}': expected five integers then a command, e.g. "-1 -1 -1 -1 -1 /usr/bin/backup" (uWSGI does not accept '*': use -1)`);
  }
  const [minute, hour, day, month, weekday] = m.slice(1, 6).map(Number);
  const schedule = scheduleFromFields({ minute, hour, day, month, weekday }, m.slice(1, 6).join(' '));
  return { schedule, command: m[6]!.trim(), unique, line };
}

const CRON2_KEYS = ['minute', 'hour', 'day', 'month', 'week', 'weekday', 'unique', 'harakiri'];

/** uWSGI `cron2 = "minute=..,hour=..,day=..,month=..,week=..,unique=1,harakiri=N command"`. */
export function parseCron2Line(line: string): CommandCron {
  const m = /^\s*(\S+)\s+(\S.*)$/.exec(line);
  if (!m || !m[1]!.includes('=')) {
    throw bad(`cron2 '${line}': expected "key=value,... command", e.g. "minute=0,hour=3,unique=1 /usr/bin/backup"`);
  }
  const f: CronFields = {};
  let unique = false;
  let harakiri: number | undefined;
  for (const kv of m[1]!.split(',')) {
    const [k, v] = kv.split('=', 2) as [string, string | undefined];
    if (!CRON2_KEYS.includes(k)) throw bad(`cron2 '${line}': unknown key '${k}'; the keys are ${CRON2_KEYS.join(', ')}`);
    const n = Number(v);
    if (v === undefined || v === '' || !Number.isInteger(n)) throw bad(`cron2 '${line}': ${k} needs an integer value, e.g. ${k}=1`);
    if (k === 'unique') unique = n !== 0;
    else if (k === 'harakiri') {
      if (n < 0) throw bad(`cron2 '${line}': harakiri must be ≥ 0 seconds (0 = never kill)`);
      harakiri = n;
    } else f[(k === 'week' ? 'weekday' : k) as keyof CronFields] = n;
  }
  return { schedule: scheduleFromFields(f, m[1]), command: m[2]!.trim(), unique, harakiri, line };
}

/** `timer = "SIGNUM SECONDS"` (uWSGI: raise the signal every SECONDS). */
export function parseTimerLine(line: string): { signal: number; seconds: number } {
  const m = /^\s*(\d+)\s+(\d+(?:\.\d+)?)\s*$/.exec(line);
  const signal = m ? Number(m[1]) : NaN;
  const seconds = m ? Number(m[2]) : NaN;
  if (!m || signal > 255 || !(seconds > 0)) {
    throw bad(`timer '${line}': expected "SIGNUM SECONDS" with SIGNUM 0..255 and SECONDS > 0, e.g. "17 30"`);
  }
  return { signal, seconds };
}

/** `farm = "NAME:1,2"` */
export function parseFarm(line: string): { name: string; mules: number[] } {
  const m = /^\s*([A-Za-z0-9_.-]+)\s*:\s*(\d+(?:\s*,\s*\d+)*)\s*$/.exec(line);
  if (!m) throw bad(`farm '${line}': expected NAME:MULE[,MULE...], e.g. "jobs:1,2"`);
  const mules = [...new Set(m[2]!.split(',').map((x) => Number(x.trim())))];
  if (mules.some((n) => n < 1)) throw bad(`farm '${line}': mule ids start at 1`);
  return { name: m[1]!, mules };
}
