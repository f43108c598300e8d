// The parent's log lines: the same shape as the server's pino lines (level, time, pid, fields,
// msg), written with one synchronous write each, without loading pino.
import { writeSync } from 'node:fs';
import { prettyLine, resolveLogFormat, type LogFields } from '../log/logger.js';
import { openLogFile } from '../log/logto.js';

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type Level = keyof typeof LEVELS;
export type ParentLog = (level: Level, fields: LogFields, msg: string) => void;

/** `format` and `logto` as configured: the lines go where the server's go. */
export function parentLog(level: string, format: string, logto: string | undefined): ParentLog {
  const threshold = LEVELS[level as Level] ?? (level === 'trace' ? 10 : level === 'silent' ? Infinity : LEVELS.info);
  let fd = 1;
  if (logto) {
    try {
      fd = openLogFile(logto);
    } catch { /* the server cannot open it either: it says why and exits, and so does the parent */ }
  }
  const pretty = resolveLogFormat(format, fd === 1 && process.stdout.isTTY) === 'pretty';
  return (lvl, fields, msg) => {
    if (LEVELS[lvl] < threshold) return;
    const line = `${JSON.stringify({ level: lvl, time: new Date().toISOString(), pid: process.pid, ...fields, msg })}\n`;
    try {
      writeSync(fd, pretty ? prettyLine(line) : line);
    } catch { /* the log is closed: nothing to tell */ }
  };
}
