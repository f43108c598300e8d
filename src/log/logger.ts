// One pino setup for every thread. Each line is a single synchronous write(2) to fd 1: a line of
// at most PIPE_BUF bytes is atomic, so threads never interleave, and nothing sits in a buffer
// when harakiri terminates a worker (node20-facts §3: async destinations lose lines then).
import { writeSync } from 'node:fs';
import { pino, type Logger, type DestinationStream } from 'pino';

export type Log = Logger;
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
