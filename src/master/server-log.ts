// The logger of a server process (the spindle command's or an embedded start()'s), with what
// loading the configuration had to say already in it: its notes, and each warning under its own
// code as the event.
import type { ConfigWarning } from '../config/errors.js';
import { createLogger, resolveLogFormat, type Log, type LogFormat } from '../log/logger.js';
import type { ServerSettings } from './settings.js';

export function serverLogger(
  settings: ServerSettings, loaded: { notes: string[]; warnings: ConfigWarning[] }, logFd: number | undefined,
): { log: Log; logFormat: LogFormat } {
  const logFormat = resolveLogFormat(settings.logFormat, logFd === undefined && process.stdout.isTTY);
  const log = createLogger({ level: settings.logLevel, format: logFormat, fd: logFd });
  for (const note of loaded.notes) log.info({ event: 'CONFIG_NOTE', note }, 'config note');
  for (const w of loaded.warnings) log.warn({ event: w.code, option: w.option }, w.message);
  return { log, logFormat };
}
