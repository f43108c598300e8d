// `spindle stats [ADDR] [--minified] [--http]`: read the stats document once and print it.
//
// ADDR is what the `stats` option takes (host:port, :port, a UNIX path) or an http:// URL for a
// stats-http server. Without ADDR the configuration is loaded as `spindle check` does (--ini,
// SPINDLE_* env, flags) and its `stats` / `stats-http` are used. Also reads uWSGI stats servers.
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { ConfigError, loadConfig } from '../config/index.js';
import { parseAddress } from '../config/address.js';
import { EXIT, SpindleError } from '../errors.js';
import { processIO, takeFlags, type CliIO } from './io.js';

export interface StatsTarget {
  /** as given or configured, for messages */
  label: string;
  http: boolean;
  host?: string;
  port?: number;
  path?: string;
  /** HTTP request path */
  urlPath: string;
}

export const STATS_TIMEOUT_MS = 5000;

/** Where to read the stats from: ADDR (or URL), else the configuration's stats option. */
export function resolveTarget(argv: string[], forceHttp: boolean): { target?: StatsTarget; error?: string } {
  const first = argv[0];
  if (first !== undefined && !first.startsWith('-')) {
    if (argv.length > 1) return { error: `unexpected arguments after ${first}: ${argv.slice(1).join(' ')}` };
    return targetFrom(first, forceHttp);
  }
  let loaded;
  try {
    loaded = loadConfig({ argv, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) return { error: err.message };
    throw err;
  }
  const addr = loaded.config.stats;
  if (!addr) return { error: 'no stats address: give ADDR (host:port, a UNIX path or http://host:port), or --ini FILE / --stats ADDR of a config that sets stats' };
  return targetFrom(addr, forceHttp || Boolean(loaded.config.statsHttp));
}

export function targetFrom(text: string, http: boolean): { target?: StatsTarget; error?: string } {
  if (/^https?:\/\//i.test(text)) {
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      return { error: `'${text}' is not a valid URL` };
    }
    if (u.protocol !== 'http:') return { error: 'https stats URLs are not supported; the stats server speaks plain HTTP' };
    return { target: { label: text, http: true, host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80), urlPath: u.pathname + u.search } };
  }
  const t = text.replace(/^tcp:\/\//, '').replace(/^unix:/, '');
  try {
    const a = parseAddress(t);
    if (a.kind === 'unix') return { target: { label: text, http, path: a.path, urlPath: '/' } };
    return { target: { label: text, http, host: a.host === '0.0.0.0' ? '127.0.0.1' : a.host, port: a.port, urlPath: '/' } };
  } catch (err) {
    return { error: `stats address '${text}': ${(err as Error).message}` };
  }
}

/** Reads the document as text: raw (the server writes and closes) or one HTTP GET. */
export function fetchStatsText(t: StatsTarget, timeoutMs = STATS_TIMEOUT_MS): Promise<string> {
  if (t.http) {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: t.host, port: t.port, socketPath: t.path, path: t.urlPath, agent: false, headers: { accept: 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) !== 200) reject(new SpindleError('STATS_UNREADABLE', `HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}`));
          else resolve(body);
        });
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new SpindleError('STATS_UNREADABLE', `no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }
  return new Promise((resolve, reject) => {
    const sock = t.path ? connect({ path: t.path }) : connect({ host: t.host!, port: t.port! });
    const chunks: Buffer[] = [];
    sock.setTimeout(timeoutMs, () => sock.destroy(new SpindleError('STATS_UNREADABLE', `no document within ${timeoutMs} ms (if the server has stats-http, use --http or http://ADDR)`)));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    sock.on('error', reject);
  });
}

export async function fetchStats(t: StatsTarget, timeoutMs?: number): Promise<Record<string, unknown>> {
  let text = await fetchStatsText(t, timeoutMs);
  // a raw connection to an HTTP stats server that answers anyway (uWSGI's stats-http does)
  if (text.startsWith('HTTP/')) text = text.slice(text.indexOf('\r\n\r\n') + 4);
  if (text.trim() === '') throw new SpindleError('STATS_UNREADABLE', 'the server closed the connection without a document (if it has stats-http, use --http or http://ADDR)');
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new SpindleError('STATS_UNREADABLE', `the answer is not JSON (${(err as Error).message}): ${text.slice(0, 120)}`);
  }
}

export async function runStats(argv: string[], io: CliIO = processIO): Promise<number> {
  const { rest, found } = takeFlags(argv, ['--minified', '--http', '--help', '-h']);
  if (found.has('--help') || found.has('-h')) {
    io.out(`usage: spindle stats [ADDR | http://HOST:PORT] [--minified] [--http]
       spindle stats --ini FILE        (ADDR from the config's stats / stats-http)
Prints the stats document of a running server once (pretty JSON; --minified: one line).
`);
    return EXIT.OK;
  }
  const r = resolveTarget(rest, found.has('--http'));
  if (!r.target) {
    io.err(`spindle stats: ${r.error}\n`);
    return EXIT.CONFIG;
  }
  try {
    const doc = await fetchStats(r.target);
    io.out(`${found.has('--minified') ? JSON.stringify(doc) : JSON.stringify(doc, null, 2)}\n`);
    return EXIT.OK;
  } catch (err) {
    io.err(`spindle stats: cannot read the stats from ${r.target.label}: ${(err as Error).message}\n`);
    return EXIT.CONFIG;
  }
}
