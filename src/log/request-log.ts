// The request log line, written by the worker that served the request: by default only 4xx, 5xx and slow requests are logged.
import type { Log } from './logger.js';
import type { RequestLogPolicy } from '../protocol/worker.js';

/** What the line says about a request (front/exchange.ts's Exchange has it all). */
export interface LoggedRequest {
  method: string;
  url: string;
  status: number;
  bytesOut: number;
  workerId: number;
  note?: string;
  req: { socket: { remoteAddress?: string } };
}

/** Logs `r` if the policy wants it; its fields are gathered only then (this runs for every request). */
export function logRequest(log: Log, policy: RequestLogPolicy, r: LoggedRequest, ms: number): void {
  const status = r.status;
  if (r.note === 'client-gone' && !status) return; // nothing was answered: nothing to log
  const forced = (status >= 400 && status < 500 && policy.log4xx) || (status >= 500 && policy.log5xx) ||
    (policy.logSlowMs > 0 && ms >= policy.logSlowMs);
  if (!policy.logRequests && !forced) return;
  const fields = {
    method: r.method, path: r.url, status, bytes: r.bytesOut, ms: Math.round(ms * 100) / 100,
    worker: r.workerId, client: r.req.socket.remoteAddress, ...(r.note ? { note: r.note } : {}),
  };
  if (status >= 500) log.error({ event: 'REQUEST', ...fields }, 'request');
  else if (status >= 400) log.warn({ event: 'REQUEST', ...fields }, 'request');
  else log.info({ event: 'REQUEST', ...fields }, 'request');
}
