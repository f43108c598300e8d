// Requests answered by the front before any app sees them: what a client can send that would
// mislead an app (a Host header that is not a host, which a fetch app's URL would take as part
// of the path; more header fields than are kept, which would be dropped silently), what no app
// should be asked (CONNECT: Spindle is not a proxy), and what a fetch app cannot be given
// (OPTIONS *: a Request needs a URL, and `/*` would be a different target).
import type { IncomingMessage } from 'node:http';
import type { Log } from '../log/logger.js';
import type { LogEvent } from '../log/events.js';
import { logLimited } from '../log/rate-limit.js';
import { answer, type Exchange, type FlatHeaders } from './exchange.js';

export interface Screened {
  status: number;
  /** The log's event code; undefined for a request that is answered, not refused (OPTIONS *). */
  event?: LogEvent;
  reason: string;
  headers: FlatHeaders;
}

/** Header fields per request; node:http is told to keep one more, so that more can be refused. */
export const MAX_HEADER_FIELDS = 2000;

/** What an app behind Spindle may be asked (CONNECT is not; 405 must name what is). */
export const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS';

// host[:port] (RFC 3986): a reg-name (unreserved and sub-delims, no percent-encoding), an IPv4
// address (a reg-name by this pattern) or an IP literal in brackets. Nothing here can end the
// authority of a URL (/ \ ? # @) or make the header invalid.
const HOST = /^(?:[A-Za-z0-9._~!$&'()*+,;=-]+|\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+,;=:-]+\])(?::(\d{1,5}))?$/;

const CLOSE: FlatHeaders = ['connection', 'close'];

export const CONNECT_REFUSED: Screened & { event: LogEvent } = {
  status: 405, event: 'CONNECT_REFUSED', reason: 'CONNECT is not served: Spindle is an application server, not a proxy',
  headers: ['allow', ALLOWED_METHODS, ...CLOSE],
};

/** null when the request may go to the app; else how to answer it. */
export function screenRequest(req: IncomingMessage, fetchApp: boolean): Screened | null {
  const raw = req.rawHeaders;
  if (raw.length > MAX_HEADER_FIELDS * 2) {
    return { status: 431, event: 'TOO_MANY_HEADERS', reason: `the request has more than ${MAX_HEADER_FIELDS} header fields`, headers: CLOSE };
  }
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 4 || (name !== 'Host' && name !== 'host' && name.toLowerCase() !== 'host')) continue;
    if (++hosts > 1) return { status: 400, event: 'BAD_HOST', reason: 'the request has more than one Host header', headers: CLOSE };
    const host = raw[i + 1]!;
    if (host !== '' && !validHost(host)) {
      return { status: 400, event: 'BAD_HOST', reason: `the Host header ${JSON.stringify(host.slice(0, 100))} is not a valid host[:port]`, headers: CLOSE };
    }
  }
  const method = req.method;
  if (method === 'CONNECT') return CONNECT_REFUSED; // from a uwsgi socket (node:http: listeners.ts)
  if (fetchApp && req.url === '*') {
    if (method === 'OPTIONS') return { status: 200, reason: `the server accepts ${ALLOWED_METHODS}`, headers: ['allow', ALLOWED_METHODS] };
    return { status: 400, event: 'BAD_TARGET', reason: `the target * is only valid with OPTIONS, not ${method}`, headers: CLOSE };
  }
  return null;
}

/** The last Host found valid: a connection (and most clients) send the same one every time. */
let lastValid = '';

function validHost(host: string): boolean {
  if (host === lastValid) return true;
  const m = HOST.exec(host);
  if (m === null || (m[1] !== undefined && Number(m[1]) > 65535)) return false;
  lastValid = host;
  return true;
}

/** Answers a screened request; a refusal is logged with its event code (rate-limited). */
export function answerScreened(ex: Exchange, s: Screened, log: Log): void {
  if (s.event !== undefined) logScreened(log, { ...s, event: s.event }, ex.req);
  answer(ex, s.status, s.reason, s.headers);
}

export function logScreened(log: Log, s: Screened & { event: LogEvent }, req: IncomingMessage): void {
  const fields = { event: s.event, status: s.status, client: req.socket.remoteAddress ?? 'unix', method: req.method, target: (req.url ?? '').slice(0, 200), reason: s.reason };
  logLimited(log, 'warn', fields, 'bad request: refused before the app');
}
