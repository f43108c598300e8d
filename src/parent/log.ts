// The parent's log lines: the same shape as the server's pino lines (level, time, pid, fields,
// msg), written with one synchronous write each, without loading pino.
import { writeSync } from 'node:fs';
import { prettyLine } from '../log/logger.js';

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type Level = keyof typeof LEVELS;
export type ParentLog = (level: Level, fields: Record<string, unknown>, msg: string) => void;

export function parentLog(level: string, format: 'json' | 'pretty'): ParentLog {
  const threshold = LEVELS[level as Level] ?? (level === 'trace' ? 10 : level === 'silent' ? Infinity : LEVELS.info);
  return (lvl, fields, msg) => {
    if (LEVELS[lvl] < threshold) return;
    const line = `${JSON.stringify({ level: lvl, time: new Date().toISOString(), pid: process.pid, ...fields, msg })}\n`;
    try {
      writeSync(1, format === 'pretty' ? prettyLine(line) : line);
    } catch { /* stdout closed: nothing to tell */ }
  };
}
