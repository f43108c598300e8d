// One pino setup for every thread. Each line is a single synchronous write(2) to fd 1: a line of
// at most PIPE_BUF bytes is atomic, so threads never interleave, and nothing sits in a buffer
// when harakiri terminates a worker (node20-facts §3: async destinations lose lines then).
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { DestinationStream, pino as Pino } from 'pino';
import type { LogEvent } from './events.js';

// Loaded on first use: importing pino takes about 15 ms, which a worker thread (see
// createLazyLogger) should not spend at start-up to log nothing.
let pinoModule: typeof Pino | null = null;
const loadPino = (): typeof Pino => (pinoModule ??= createRequire(import.meta.url)('pino') as typeof Pino);

/**
 * Loads the logger's modules now. A worker that accepts connections calls it before it serves:
 * loading them at its first warning may happen while the process is out of file descriptors
 * (EMFILE: the very moment it has something to say), and then fails.
 */
export function loadLogModules(): void {
  try {
    loadPino();
  } catch {
    /* out of descriptors already: the first line retries, or falls back (createLazyLogger) */
  }
}

/** A line's fields: its event code (src/log/events.ts) and whatever else it reports. */
export interface LogFields { event: LogEvent; [field: string]: unknown }
type LogCall = (fields: LogFields, msg: string) => void;

/** The logger every room uses: pino's, narrowed so that each line names its event code. */
export interface Log {
  trace: LogCall; debug: LogCall; info: LogCall; warn: LogCall; error: LogCall; fatal: LogCall;
  readonly level: string;
  isLevelEnabled(level: string): boolean;
}
export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level: string;
  format: LogFormat;
  /** Fields on every line, e.g. { wid: 3 }. */
  base?: Record<string, unknown>;
  /** Where lines go (tests); default fd 1. */
  fd?: number;
}

export function resolveLogFormat(setting: string, isTTY: boolean | undefined): LogFormat {
  if (setting === 'json' || setting === 'pretty') return setting;
  return isTTY ? 'pretty' : 'json';
}

export function createLogger(opts: LoggerOptions): Log {
  const pino = loadPino();
  const fd = opts.fd ?? 1;
  const dest: DestinationStream =
    opts.format === 'pretty'
      ? { write: (line: string) => { writeSync(fd, prettyLine(line)); } }
      : pino.destination({ dest: fd, sync: true });
  return pino(
    {
      level: opts.level,
      base: { pid: process.pid, ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}

const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/**
 * The same logger, created when the first line passes the level. Worker threads use it: most of
 * them never log at the default level, and the ones that do pay pino's load then.
 */
export function createLazyLogger(opts: LoggerOptions): Log {
  let real: Log | null = null;
  const threshold = LEVEL_VALUES[opts.level] ?? LEVEL_VALUES.info!;
  const at = (name: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal') => {
    const value = LEVEL_VALUES[name]!;
    return (fields: LogFields, msg: string): void => {
      if (value < threshold) return;
      try {
        real ??= createLogger(opts);
      } catch {
        fallbackLine(opts, name, fields, msg); // pino could not be loaded (EMFILE): a log call never throws
        return;
      }
      real[name](fields, msg);
    };
  };
  const lazy = {
    trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'),
    level: opts.level,
    isLevelEnabled: (level: string) => (LEVEL_VALUES[level] ?? Infinity) >= threshold,
  };
  return lazy;
}

/** One JSON line like pino's, written without pino: when its modules cannot be loaded. */
function fallbackLine(opts: LoggerOptions, level: string, fields: LogFields, msg: string): void {
  const rec = { level, time: new Date().toISOString(), pid: process.pid, ...opts.base, ...fields, msg };
  let line: string;
  try {
    line = JSON.stringify(rec, (_k, v: unknown) => (v instanceof Error ? { type: v.name, message: v.message, stack: v.stack } : v)) + '\n';
  } catch {
    line = JSON.stringify({ level, time: rec.time, pid: process.pid, ...opts.base, msg }) + '\n';
  }
  try {
    writeSync(opts.fd ?? 1, opts.format === 'pretty' ? prettyLine(line) : line);
  } catch {
    /* nowhere to write */
  }
}

const LEVEL_COLOURS: Record<string, string> = {
  trace: '90', debug: '36', info: '32', warn: '33', error: '31', fatal: '35',
};
const QUIET_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Renders one JSON log line for a terminal: time, level, message, then key=value pairs. */
export function prettyLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = String(rec.level ?? 'info');
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 23) : '';
  const colour = LEVEL_COLOURS[level] ?? '0';
  const fields: string[] = [];
  let stack = '';
  for (const [k, v] of Object.entries(rec)) {
    if (QUIET_KEYS.has(k)) continue;
    if (k === 'err' && v && typeof v === 'object' && 'stack' in v) {
      stack = '\n' + String((v as { stack: unknown }).stack).replace(/^/gm, '    ');
      continue;
    }
    fields.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return `${time} \x1b[${colour}m${level.toUpperCase().padEnd(5)}\x1b[0m ${String(rec.msg ?? '')}` +
    (fields.length ? ` \x1b[2m${fields.join(' ')}\x1b[0m` : '') + stack + '\n';
}
