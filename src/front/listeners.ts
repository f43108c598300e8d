// The HTTP server every worker serves its listening sockets with: node:http with the
// request-level limits (buffer-size, socket-timeout) and every malformed request answered.
import { STATUS_CODES, createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Log } from '../log/logger.js';

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
  server.on('clientError', (err: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, why] = clientErrorStatus(err);
    opts.log.warn({ status, client: socket.remoteAddress, code: err.code, reason: why }, 'bad request');
    socket.end(rawResponse(status, why));
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

export function rawResponse(status: number, message: string): string {
  const reason = STATUS_CODES[status] ?? 'Error';
  const body = `${status} ${reason}: ${message}\n`;
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
