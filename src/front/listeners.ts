// The HTTP server every worker serves its listening sockets with: node:http with the
// request-level limits (buffer-size, socket-timeout) and every malformed request answered.
import { STATUS_CODES, createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Log } from '../log/logger.js';
import { logLimited } from '../log/rate-limit.js';
import { ALLOWED_METHODS, CONNECT_REFUSED, MAX_HEADER_FIELDS, logScreened } from './request-screen.js';

export interface HttpServerOptions {
  maxHeaderBytes: number;
  socketTimeoutMs: number;
  log: Log;
  onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** Is a request of this socket in flight (or waiting for admission)? Then idleness is not its fault. */
  isBusy: (socket: Socket) => boolean;
}

/**
 * node:http with Spindle's request-level limits: buffer-size (431), socket-timeout for heads,
 * stalled bodies (408) and idle keep-alive connections, and an answer to every malformed request.
 * Every worker's shared sockets use it (and the master's need-app = false stand-in).
 */
export function createHttpServer(opts: HttpServerOptions): Server {
  const server = createServer({
    maxHeaderSize: opts.maxHeaderBytes,
    headersTimeout: opts.socketTimeoutMs,
    keepAliveTimeout: opts.socketTimeoutMs,
    requestTimeout: 0, // the body is guarded by the inactivity timeout below, the response by harakiri
    connectionsCheckingInterval: Math.min(1000, opts.socketTimeoutMs),
    noDelay: true,
  }, opts.onRequest);
  // Inactivity: a connection that sends nothing for socket-timeout while we wait on it is closed
  // (slowloris); one waiting on us (a request in flight or waiting for admission) is left alone.
  server.setTimeout(opts.socketTimeoutMs, (socket: Socket) => {
    if (opts.isBusy(socket)) return;
    const res = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (res && !res.headersSent && !res.writableEnded) {
      // Headers arrived but the body stalls: say so before closing.
      const body = '408 Request Timeout: the request body was not received within socket-timeout\n';
      res.shouldKeepAlive = false;
      res.writeHead(408, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body);
      return;
    }
    socket.destroy();
  });
  // One more than are kept: a request with more fields is refused (431), not cut (request-screen.ts).
  server.maxHeadersCount = MAX_HEADER_FIELDS + 1;
  server.on('clientError', (err: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Socket) => {
    if (err.code === 'HPE_CLOSED_CONNECTION') {
      // Bytes after a request that said Connection: close are ignored: its response, if still
      // being made, is delivered and closes the connection. Stop reading the rest.
      socket.pause();
      if (!(socket as Socket & { _httpMessage?: ServerResponse })._httpMessage) socket.destroySoon();
      return;
    }
    if (err.code === 'HPE_INVALID_EOF_STATE') {
      // The client closed in the middle of a request (head or body): nobody to answer.
      logLimited(opts.log, 'warn', { event: 'CLIENT_LEFT_MID_REQUEST', client: socket.remoteAddress ?? 'unix' }, 'the client closed the connection before its request was complete');
      socket.destroy();
      return;
    }
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, why] = clientErrorStatus(err);
    logLimited(opts.log, 'warn', { event: 'BAD_REQUEST', status, client: socket.remoteAddress ?? 'unix', code: err.code, reason: why }, 'bad request');
    socket.end(rawResponse(status, why));
  });
  // Without a listener node:http closes a CONNECT without a word.
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    logScreened(opts.log, CONNECT_REFUSED, req);
    socket.on('error', () => { /* the client may be gone already */ });
    socket.end(rawResponse(405, CONNECT_REFUSED.reason, `Allow: ${ALLOWED_METHODS}\r\n`));
  });
  return server;
}

function clientErrorStatus(err: NodeJS.ErrnoException): [number, string] {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'the request head is larger than buffer-size'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return [408, 'the request head was not received within socket-timeout'];
    default:
      return [400, `malformed request (${err.code ?? err.message})`];
  }
}

/** A complete response that closes the connection; `extra`: more header lines, each ending in CRLF. */
export function rawResponse(status: number, message: string, extra = ''): string {
  const reason = STATUS_CODES[status] ?? 'Error';
  const body = `${status} ${reason}: ${message}\n`;
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`;
}
