// The HTTP server every worker serves its listening sockets with: node:http with the
// request-level limits (buffer-size, socket-timeout) and every malformed request answered.
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Log } from '../log/logger.js';
import { rawResponse } from './raw-response.js';
import { SlottedResponse } from './slotted-response.js';
import { logLimited } from '../log/rate-limit.js';
import { ALLOWED_METHODS, CONNECT_REFUSED, MAX_HEADER_FIELDS, logScreened } from './request-screen.js';
import { answer408, answerReadTimeout, closeIdle, requestTimeoutMs } from './read-deadline.js';
import { declaredBody } from './request-body.js';

export interface HttpServerOptions {
  maxHeaderBytes: number;
  socketTimeoutMs: number;
  /** limit-post in bytes (0 or absent: no limit): a body declared larger is refused before the client sends it. */
  maxBodyBytes?: number;
  /** request-read-timeout: the whole request must arrive within this of its first byte (0 or absent: no limit). */
  requestReadTimeoutMs?: number;
  log: Log;
  onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** Is a request of this socket in flight (or waiting for admission)? Then idleness is not its fault. */
  isBusy: (socket: Socket) => boolean;
  /** Has a request of this socket been parsed? If not, bytes it sent are the start of a head. */
  hadRequest: (socket: Socket) => boolean;
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
    // The whole request by request-read-timeout (read-deadline.ts); each wait by the inactivity
    // timeout below; the response by harakiri.
    requestTimeout: requestTimeoutMs(opts.requestReadTimeoutMs ?? 0, opts.socketTimeoutMs),
    connectionsCheckingInterval: Math.min(1000, opts.socketTimeoutMs),
    noDelay: true,
    ServerResponse: SlottedResponse,
  }, opts.onRequest);
  // Inactivity: a connection that sends nothing for socket-timeout while we wait on it is closed
  // (slowloris); one waiting on us (a request in flight or waiting for admission) is left alone.
  // Not server.setTimeout(): with server.timeout set, node:http re-arms the socket's timer when
  // each kept-alive request starts, and every read and write re-inserts it in the timer list
  // (about 0.5 µs of a small request). Here a connection gets the timer when it opens; between
  // requests node:http arms its keep-alive timeout (the same value, calling the same listener);
  // at a kept-alive request's start it clears it, and the worker arms it again only on a
  // connection whose request waits on its client (watchStalls() in connection-flow.ts).
  server.on('connection', (socket: Socket) => {
    socket.setTimeout(opts.socketTimeoutMs);
    // Read the peer's address now (net keeps it): once a socket is destroyed net no longer knows
    // it, and the request log's `client` matters most for the requests that end that way (a
    // response cut after the app failed, a client gone). Once per connection, not per request.
    void socket.remoteAddress;
  });
  server.on('timeout', (socket: Socket) => {
    if (opts.isBusy(socket)) return;
    const res = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (res && !res.headersSent && !res.writableEnded) {
      // Headers arrived but the body stalls: say so before closing.
      opts.log.warn({ event: 'BODY_TIMEOUT', client: socket.remoteAddress, method: res.req.method, path: res.req.url }, 'request body not received within socket-timeout: answered 408, connection closed');
      answer408(res, 'the request body was not received within socket-timeout');
      return;
    }
    if (socket.bytesRead > 0 && !opts.hadRequest(socket)) {
      // The first head stopped arriving: answered as node:http's headersTimeout answers a later one
      // (this inactivity timer fires first on a connection's first request).
      answerReadTimeout(socket, opts.log, opts.isBusy);
      return;
    }
    closeIdle(socket, opts.log);
  });
  // Expect: 100-continue: the client waits for a go-ahead before it sends the body. node:http gives
  // it to every request; a body declared over limit-post is not asked for: the request goes on
  // without it, and its 413 (own-http.ts) tells the client not to send it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const limit = opts.maxBodyBytes ?? 0;
    if (!(limit > 0 && declaredBody(req) > limit)) res.writeContinue();
    server.emit('request', req, res);
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
      // The client closed in the middle of a request (head or body): nobody to answer. Unless we
      // had answered it (a 408) and closed our side first: then its close is no news.
      if (!socket.writableEnded) logLimited(opts.log, 'warn', { event: 'CLIENT_LEFT_MID_REQUEST', client: socket.remoteAddress ?? 'unix' }, 'the client closed the connection before its request was complete');
      socket.destroy();
      return;
    }
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      answerReadTimeout(socket, opts.log, opts.isBusy);
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
    case 'HPE_HEADERS_TIMEOUT':
      return [408, 'the request head was not received within socket-timeout'];
    default:
      return [400, `malformed request (${err.code ?? err.message})`];
  }
}
