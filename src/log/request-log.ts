// The request log line, written by the master (accept = master) or by the worker that served the
// request (accept = workers): by default only 4xx, 5xx and slow requests are logged.
import type { Log } from './logger.js';

export interface RequestLogPolicy {
  /** Log every request (log-requests), not only the ones below. */
  logRequests: boolean;
  log4xx: boolean;
  log5xx: boolean;
  /** Log requests slower than this (0 = off). */
  logSlowMs: number;
}

export interface RequestLogFields {
  method: string;
  path: string;
  status: number;
  bytes: number;
  ms: number;
  worker: number;
  client: string | undefined;
  note?: string;
}

export function logRequest(log: Log, policy: RequestLogPolicy, r: RequestLogFields): void {
  const { status, ms } = r;
  const forced = (status >= 400 && status < 500 && policy.log4xx) || (status >= 500 && policy.log5xx) ||
    (policy.logSlowMs > 0 && ms >= policy.logSlowMs);
  if (!policy.logRequests && !forced) return;
  const fields = { ...r, ms: Math.round(ms * 100) / 100 };
  if (!r.note) delete fields.note;
  if (status >= 500) log.error(fields, 'request');
  else if (status >= 400) log.warn(fields, 'request');
  else log.info(fields, 'request');
}
