// The uwsgi protocol front (`uwsgi-socket`, alias `socket`): what nginx's `uwsgi_pass` speaks.
//
// Wire format (uWSGI 2.0, proto/uwsgi.c): a 4-byte header — modifier1 (u8), datasize (u16 LE),
// modifier2 (u8) — then `datasize` bytes of vars: (u16 LE key size, key, u16 LE value size, value)*,
// then exactly CONTENT_LENGTH bytes of body. The answer is a plain HTTP response (no uwsgi framing)
// and the connection is closed after it, as uWSGI 2.0 does.
//
// Each packet becomes a real `http.IncomingMessage` + `http.ServerResponse` bound to the socket and
// goes through the same `onRequest` as the HTTP sockets, so limits, harakiri and logging are
// shared. Binding (':port' means 127.0.0.1 here) is src/master/shared-sockets.ts. Differences from uWSGI, on purpose:
//   - UWSGI_* request variables (UWSGI_FILE, UWSGI_SCRIPT, UWSGI_CHDIR, UWSGI_SETENV, …) are never
//     honoured: nothing in a request loads code or changes the server (logged once when seen).
//   - ':port' binds 127.0.0.1, not every interface (http-socket ':port' means 0.0.0.0). An explicit
//     non-loopback host is honoured, with a warning at start-up.
//   - A malformed packet is answered with a short HTTP 400/431 naming the problem (nginx relays it;
//     an HTTP client that hit the uwsgi port by mistake reads why) and logged, then closed.
import { Server, IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { logLimited } from '../log/rate-limit.js';
import type { HttpServerOptions } from './listeners.js';
import { rawResponse } from './raw-response.js';
import { SlottedResponse } from './slotted-response.js';
import { forwardDrain } from './write-room.js';
import { answer408, closeIdle, logReadTimeout, requestTimeoutMs } from './read-deadline.js';
import { HTTP_TOKEN } from './http-token.js';

export const UWSGI_HEADER_SIZE = 4;
/** datasize of an HTTP request sent to a uwsgi socket ("ET" of "GET"), as uWSGI's docs note. */
export const HTTP_ON_UWSGI_DATASIZE = 21573;

export interface UwsgiPacket {
  modifier1: number;
  modifier2: number;
  /** Key/value pairs in wire order; keys as ASCII, values as latin1 (byte-preserving, like node:http). */
  vars: [string, string][];
  /** Bytes of header + vars: where the body starts. */
  size: number;
}

export type ParseResult =
  | { kind: 'more' }
  | { kind: 'ok'; packet: UwsgiPacket }
  | { kind: 'error'; status: 400 | 431; reason: string };

/**
 * Parses the head of a uwsgi request (header + vars) from the start of `buf`. `maxSize` is
 * buffer-size: the vars block may not be larger (uWSGI: "invalid request block size").
 * Returns 'more' until the whole vars block is in; never throws.
 */
export function parseUwsgiPacket(buf: Buffer, maxSize: number): ParseResult {
  if (buf.length < UWSGI_HEADER_SIZE) return { kind: 'more' };
  const modifier1 = buf[0]!;
  const datasize = buf.readUInt16LE(1);
  const modifier2 = buf[3]!;
  if (looksLikeHttp(buf)) return httpOnUwsgi(buf);
  if (datasize > maxSize) {
    return { kind: 'error', status: 431, reason: `invalid request block size: ${datasize} (max ${maxSize}): the uwsgi vars block is larger than buffer-size; raise buffer-size` };
  }
  if (modifier1 !== 0) {
    return { kind: 'error', status: 400, reason: `unavailable modifier requested: ${modifier1} (Spindle serves modifier1 0, nginx's default; check uwsgi_modifier1)` };
  }
  const size = UWSGI_HEADER_SIZE + datasize;
  if (buf.length < size) return { kind: 'more' };
  const vars: [string, string][] = [];
  let at = UWSGI_HEADER_SIZE;
  while (at < size) {
    if (at + 2 > size) return truncated(at - UWSGI_HEADER_SIZE, 'a key size');
    const keyLen = buf.readUInt16LE(at);
    at += 2;
    if (keyLen === 0) return { kind: 'error', status: 400, reason: 'uwsgi key cannot be null (an empty variable name in the vars block)' };
    if (at + keyLen > size) return truncated(at - UWSGI_HEADER_SIZE, `a key of ${keyLen} bytes`);
    const key = buf.toString('latin1', at, at + keyLen);
    at += keyLen;
    if (at + 2 > size) return truncated(at - UWSGI_HEADER_SIZE, `the value size of ${key}`);
    const valLen = buf.readUInt16LE(at);
    at += 2;
    if (at + valLen > size) return truncated(at - UWSGI_HEADER_SIZE, `the ${valLen}-byte value of ${key}`);
    vars.push([key, buf.toString('latin1', at, at + valLen)]);
    at += valLen;
  }
  return { kind: 'ok', packet: { modifier1, modifier2, vars, size } };
}

function truncated(offset: number, what: string): ParseResult {
  return { kind: 'error', status: 400, reason: `invalid uwsgi request (current strsize: ${offset}): the vars block ends inside ${what}` };
}

/** A real packet starts with modifier1 (0 for requests), never with an HTTP method's letters. */
const HTTP_START = /^(?:GET |HEAD|POST|PUT |DELE|OPTI|PATC|CONN|TRAC|PRI )/;

function looksLikeHttp(buf: Buffer): boolean {
  return HTTP_START.test(buf.toString('latin1', 0, UWSGI_HEADER_SIZE));
}

function httpOnUwsgi(buf: Buffer): ParseResult {
  const datasize = buf.readUInt16LE(1);
  return {
    kind: 'error', status: 400,
    reason: `an HTTP request was sent to a uwsgi socket (datasize ${datasize}): point HTTP clients at http-socket, or put nginx with uwsgi_pass in front`,
  };
}

/** The request head, built from the packet's vars. */
export interface UwsgiRequestHead {
  method: string;
  url: string;
  httpVersion: string;
  /** Flat [name, value, …] pairs, lower-case names, as IncomingMessage.rawHeaders. */
  rawHeaders: string[];
  contentLength: number;
  remoteAddress?: string;
  remotePort?: number;
  /** UWSGI_* variables present (never honoured). */
  ignored: string[];
}

/** Body framing on a uwsgi socket is CONTENT_LENGTH; a forwarded client framing header would lie. */
const DROPPED_HEADERS = new Set(['transfer-encoding', 'content-length', 'content-type']);

// What node:http's parser would never let through, so an app must never see it from a uwsgi
// socket either: control characters (CR, LF, NUL…; tab is allowed) in any value, header names
// that are not tokens, methods that are not tokens, spaces in the target.
const CONTROL = /[\0-\x08\x0a-\x1f\x7f]/;
const BAD_TARGET = /[\0-\x20\x7f]/;

/** Maps the CGI-style vars to a request head; an error text when they cannot make a request. */
export function requestFromVars(vars: [string, string][]): UwsgiRequestHead | { error: string } {
  const cgi = new Map<string, string>();
  const rawHeaders: string[] = [];
  const ignored: string[] = [];
  let hasHost = false;
  for (const [key, value] of vars) {
    if (CONTROL.test(value)) return { error: `invalid uwsgi variable ${printable(key)}: its value contains a control character (CR, LF, NUL or another); nginx never sends one, so the peer is not nginx or is misconfigured` };
    if (key.startsWith('HTTP_')) {
      const name = key.slice(5).toLowerCase().replaceAll('_', '-');
      if (name !== '' && !HTTP_TOKEN.test(name)) return { error: `invalid uwsgi variable ${printable(key)}: not a valid header name` };
      if (name === '' || DROPPED_HEADERS.has(name)) continue;
      if (name === 'host') hasHost = true;
      rawHeaders.push(name, value);
    } else if (key.startsWith('UWSGI_')) {
      ignored.push(key);
    } else if (!cgi.has(key)) {
      cgi.set(key, value);
    }
  }
  const lengthText = (cgi.get('CONTENT_LENGTH') ?? '').trim();
  if (lengthText !== '' && !/^\d{1,15}$/.test(lengthText)) return { error: `invalid CONTENT_LENGTH '${lengthText.slice(0, 40)}'` };
  const contentLength = lengthText === '' ? 0 : Number(lengthText);
  const contentType = cgi.get('CONTENT_TYPE') ?? '';
  if (contentType !== '') rawHeaders.push('content-type', contentType);
  if (lengthText !== '') rawHeaders.push('content-length', String(contentLength));
  if (!hasHost && cgi.get('SERVER_NAME')) {
    const port = cgi.get('SERVER_PORT');
    rawHeaders.push('host', port && port !== '80' ? `${cgi.get('SERVER_NAME')}:${port}` : cgi.get('SERVER_NAME')!);
  }
  let url = cgi.get('REQUEST_URI') ?? '';
  if (url === '') {
    const path = cgi.get('PATH_INFO') || '/';
    const qs = cgi.get('QUERY_STRING') ?? '';
    url = qs ? `${path}?${qs}` : path;
  }
  if (BAD_TARGET.test(url)) return { error: `invalid request target ${printable(url)}: it contains a space or a control character` };
  const method = (cgi.get('REQUEST_METHOD') || 'GET').toUpperCase();
  if (!HTTP_TOKEN.test(method)) return { error: `invalid REQUEST_METHOD ${printable(method)}` };
  const protocol = /^HTTP\/(\d)\.(\d)$/.exec(cgi.get('SERVER_PROTOCOL') ?? '');
  const port = Number(cgi.get('REMOTE_PORT'));
  return {
    method,
    url,
    httpVersion: protocol ? `${protocol[1]}.${protocol[2]}` : '1.0',
    rawHeaders,
    contentLength,
    remoteAddress: cgi.get('REMOTE_ADDR') || undefined,
    remotePort: Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined,
    ignored,
  };
}

/** A client's text for a log line or an answer: quoted, escaped, at most 100 characters. */
const printable = (text: string): string => JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);

/** Builds a uwsgi request packet (tests, tools). */
export function encodeUwsgiPacket(vars: [string, string][], opts: { modifier1?: number; modifier2?: number } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of vars) {
    const kb = Buffer.from(k, 'latin1');
    const vb = Buffer.from(v, 'latin1');
    const head = Buffer.alloc(2);
    head.writeUInt16LE(kb.length);
    const vhead = Buffer.alloc(2);
    vhead.writeUInt16LE(vb.length);
    parts.push(head, kb, vhead, vb);
  }
  const data = Buffer.concat(parts);
  // only tests and benches build packets: a plain RangeError
  if (data.length > 65535) throw new RangeError(`the vars block (${data.length} bytes) does not fit a uwsgi packet (max 65535)`);
  const header = Buffer.alloc(UWSGI_HEADER_SIZE);
  header[0] = opts.modifier1 ?? 0;
  header.writeUInt16LE(data.length, 1);
  header[3] = opts.modifier2 ?? 0;
  return Buffer.concat([header, data]);
}

// ---- the listener ------------------------------------------------------------------------------

/** The same options as an HTTP listener's. */

interface Conn {
  socket: Socket;
  req?: IncomingMessage;
  res?: ServerResponse;
  bodyDone: boolean;
  /** Answered early: the rest of the body is read and thrown away before closing. */
  draining?: boolean;
  /** Body bytes still expected. */
  missing?: () => number;
  /** performance.now() at accept. */
  acceptedAt: number;
  /** The read deadline: the head within socket-timeout, the whole request within request-read-timeout. */
  deadline?: NodeJS.Timeout;
}

/**
 * An http.Server whose connections speak uwsgi instead of HTTP/1.1: the 'connection' handler is
 * replaced, and close()/closeIdleConnections()/closeAllConnections() act on our own connections,
 * so a stopping worker closes it exactly like an HTTP listener.
 */
export class UwsgiServer extends Server {
  private readonly conns = new Set<Conn>();
  private warnedUwsgiVars = false;

  constructor(private readonly opts: HttpServerOptions) {
    super();
    this.removeAllListeners('connection');
    this.on('connection', (socket: Socket) => this.onConnection(socket));
  }

  override closeIdleConnections(): void {
    for (const c of this.conns) if (!c.req) c.socket.destroy();
  }

  override closeAllConnections(): void {
    for (const c of this.conns) c.socket.destroy();
  }

  private onConnection(socket: Socket): void {
    const conn: Conn = { socket, bodyDone: false, acceptedAt: performance.now() };
    this.conns.add(conn);
    socket.on('error', () => { /* ECONNRESET and friends: 'close' follows */ });
    socket.on('close', () => {
      this.conns.delete(conn);
      clearTimeout(conn.deadline);
      if (conn.req && !conn.bodyDone) conn.req.destroy();
    });
    socket.setTimeout(this.opts.socketTimeoutMs, () => this.onTimeout(conn));
    this.readDeadline(conn, this.opts.socketTimeoutMs);
    // nginx never half-closes a uwsgi connection: an end from the peer means it is gone (client
    // abort). Destroying the socket closes the response, which tells the worker to abort.
    socket.on('end', () => {
      const { req, res } = conn;
      if (req && !conn.bodyDone && !conn.draining) {
        logLimited(this.opts.log, 'warn', { event: 'CLIENT_LEFT_MID_REQUEST', client: socket.remoteAddress ?? 'unix', missing: conn.missing?.() }, 'uwsgi peer closed the connection before the whole body arrived');
        req.destroy();
      }
      if (!res?.writableFinished) socket.destroy();
    });
    let buf: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      const r = parseUwsgiPacket(buf, this.opts.maxHeaderBytes);
      if (r.kind === 'more') return;
      socket.off('data', onData);
      if (r.kind === 'error') {
        this.reject(socket, r.status, r.reason);
        return;
      }
      socket.pause();
      this.begin(conn, r.packet, buf.subarray(r.packet.size));
    };
    socket.on('data', onData);
  }

  private reject(socket: Socket, status: 400 | 431, reason: string): void {
    logLimited(this.opts.log, 'error', { event: 'BAD_UWSGI_REQUEST', status, client: socket.remoteAddress ?? 'unix', reason }, 'bad uwsgi request: connection closed');
    socket.removeAllListeners('data');
    socket.on('data', () => { /* drain until closed */ });
    socket.end(rawResponse(status, reason));
    socket.destroySoon();
  }

  private begin(conn: Conn, packet: UwsgiPacket, rest: Buffer): void {
    const { socket } = conn;
    const head = requestFromVars(packet.vars);
    if ('error' in head) {
      this.reject(socket, 400, head.error);
      return;
    }
    if (head.ignored.length && !this.warnedUwsgiVars) {
      this.warnedUwsgiVars = true;
      this.opts.log.warn({ event: 'UWSGI_VARS_IGNORED', vars: head.ignored }, 'uwsgi request variables UWSGI_* are ignored: Spindle never loads code or changes settings from a request (logged once)');
    }
    // One request per connection: the peer nginx names is the client.
    if (head.remoteAddress !== undefined) Object.defineProperty(socket, 'remoteAddress', { value: head.remoteAddress, configurable: true });
    if (head.remotePort !== undefined) Object.defineProperty(socket, 'remotePort', { value: head.remotePort, configurable: true });

    const req = new IncomingMessage(socket);
    req.method = head.method;
    req.url = head.url;
    req.httpVersion = head.httpVersion;
    req.httpVersionMajor = Number(head.httpVersion[0]);
    req.httpVersionMinor = Number(head.httpVersion[2]);
    setHeaders(req, head.rawHeaders);
    const res = new SlottedResponse(req);
    // Close-delimited response, then close: what uWSGI 2.0 does and nginx expects from uwsgi.
    res.shouldKeepAlive = false;
    res.useChunkedEncodingByDefault = false;
    res.assignSocket(socket);
    forwardDrain(socket, res);
    res.on('finish', () => socket.end());
    conn.req = req;
    conn.res = res;

    let remaining = head.contentLength;
    // A request answered before its body was read (413 for limit-post) must still read the body:
    // nginx is sending it, and closing on it makes nginx answer 502 instead of relaying our answer
    // (uWSGI's "you must read the body" rule). The master closes with destroySoon(); here that
    // means: discard the rest of the body (bounded by socket-timeout), then close.
    const destroySoon = socket.destroySoon.bind(socket);
    socket.destroySoon = () => {
      if (conn.bodyDone) { destroySoon(); return; }
      conn.draining = true;
      socket.end();
      socket.resume();
    };
    const feed = (chunk: Buffer) => {
      if (conn.bodyDone) return; // bytes beyond CONTENT_LENGTH are ignored
      const part = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
      remaining -= part.length;
      if (part.length && !conn.draining && !req.push(part)) socket.pause(); // resumed by req._read
      if (remaining === 0) {
        conn.bodyDone = true;
        clearTimeout(conn.deadline);
        req.complete = true;
        req.push(null);
        if (conn.draining) destroySoon();
      }
    };
    // The whole request within request-read-timeout of the connection (nginx sends at once).
    const wholeMs = requestTimeoutMs(this.opts.requestReadTimeoutMs ?? 0, this.opts.socketTimeoutMs);
    if (wholeMs > 0) this.readDeadline(conn, wholeMs - (performance.now() - conn.acceptedAt));
    if (remaining === 0) feed(Buffer.alloc(0));
    else if (rest.length) feed(rest);
    // Keep reading after the body too, so that a peer that goes away (nginx on client abort) is seen.
    socket.on('data', feed);
    conn.missing = () => remaining;
    this.emit('request', req, res);
    socket.resume();
  }

  /** (Re)arms the connection's read deadline, `ms` from now. */
  private readDeadline(conn: Conn, ms: number): void {
    clearTimeout(conn.deadline);
    conn.deadline = setTimeout(() => this.onReadDeadline(conn), Math.max(0, ms)).unref();
  }

  /** The head or the body is not in by its deadline, however busy the client kept the socket. */
  private onReadDeadline(conn: Conn): void {
    const { socket, req, res } = conn;
    if (!req) {
      logReadTimeout(this.opts.log, 'HEAD_TIMEOUT', socket);
      socket.removeAllListeners('data');
      socket.end(rawResponse(408, 'the uwsgi request head was not received within socket-timeout'));
      socket.destroySoon();
      return;
    }
    if (conn.bodyDone || this.opts.isBusy(socket)) return;
    logReadTimeout(this.opts.log, 'REQUEST_READ_TIMEOUT', socket, req);
    if (res && !res.headersSent && !res.writableEnded) answer408(res, 'the request body was not received within request-read-timeout');
    else socket.destroy();
  }

  private onTimeout(conn: Conn): void {
    const { socket, res } = conn;
    if (this.opts.isBusy(socket)) return;
    if (!conn.req) {
      this.onReadDeadline(conn);
      return;
    }
    if (res && !conn.bodyDone && !res.headersSent && !res.writableEnded) {
      this.opts.log.warn({ event: 'BODY_TIMEOUT', client: socket.remoteAddress ?? 'unix', method: conn.req.method, path: conn.req.url }, 'uwsgi request body not received within socket-timeout: answered 408, connection closed');
      answer408(res, 'the request body was not received within socket-timeout');
      return;
    }
    closeIdle(socket, this.opts.log);
  }
}

/** Headers with node:http's own merging rules (set-cookie arrays, ', ' joins, duplicates dropped). */
function setHeaders(req: IncomingMessage, raw: string[]): void {
  const internal = req as IncomingMessage & { _addHeaderLines?: (h: string[], n: number) => void };
  if (typeof internal._addHeaderLines === 'function') {
    internal._addHeaderLines(raw, raw.length);
    return;
  }
  req.rawHeaders = raw;
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const prev = headers[name];
    if (name === 'set-cookie') headers[name] = [...((prev as string[] | undefined) ?? []), value];
    else headers[name] = prev === undefined ? value : `${prev as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  req.headers = headers;
}
