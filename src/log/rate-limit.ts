// Log lines a client can cause (bad requests, clients leaving mid-request) are rate-limited per
// event code: a flood of them must not flood the log (or the disk). Each thread keeps its own count.
import { performance } from 'node:perf_hooks';
import type { Log, LogFields } from './logger.js';

/** Lines of one event code logged per window; the rest are counted. */
const BURST = 10;
const WINDOW_MS = 10_000;

interface Window { start: number; logged: number; suppressed: number }
const windows = new Map<string, Window>();

/**
 * Logs `fields` (with their `event` code) unless BURST lines of that code were logged in the last
 * window; the line that passes after a pause carries `suppressed`, the count of the ones left out.
 */
export function logLimited(log: Log, level: 'warn' | 'error' | 'info', fields: LogFields, msg: string): void {
  const now = performance.now();
  let w = windows.get(fields.event);
  if (w === undefined) windows.set(fields.event, w = { start: now, logged: 0, suppressed: 0 });
  else if (now - w.start >= WINDOW_MS) { w.start = now; w.logged = 0; }
  if (w.logged >= BURST) {
    w.suppressed++;
    return;
  }
  w.logged++;
  if (w.suppressed > 0) {
    log[level]({ ...fields, suppressed: w.suppressed }, `${msg} (${w.suppressed} similar lines were left out)`);
    w.suppressed = 0;
  } else {
    log[level](fields, msg);
  }
}
