// The deadline on reading a request. socket-timeout bounds each wait on the client, so a client that
// drips a byte a second never waits that long: the head must arrive whole within socket-timeout,
// and the whole request (head and body) within request-read-timeout of its first byte. The HTTP
// front has node:http enforce both (headersTimeout, requestTimeout), which reports a clientError
// ERR_HTTP_REQUEST_TIMEOUT for either; the uwsgi front keeps its own timer (uwsgi-listener.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Log } from '../log/logger.js';
import { rawResponse } from './raw-response.js';
import { ignoreLateWrites } from './exchange.js';

type HttpSocket = Socket & { _httpMessage?: ServerResponse | null; parser?: { incoming?: IncomingMessage | null } | null };

/** node:http's requestTimeout for request-read-timeout: never under headersTimeout (node:http refuses that). */
export function requestTimeoutMs(requestReadTimeoutMs: number, socketTimeoutMs: number): number {
  return requestReadTimeoutMs > 0 ? Math.max(requestReadTimeoutMs, socketTimeoutMs) : 0;
}

/**
 * node:http's ERR_HTTP_REQUEST_TIMEOUT on `socket`: 408 and close. A response already under way
 * on the connection (pipelining) cannot be overtaken: then the connection is only closed. A body
 * we are not reading (the app does not consume it, or it waits behind pipelined requests) is not
 * the client's fault: that request is left to run (harakiri bounds it).
 */
export function answerReadTimeout(socket: Socket, log: Log, isBusy: (socket: Socket) => boolean): void {
  const s = socket as HttpSocket;
  const req = s.parser?.incoming;
  const res = s._httpMessage ?? undefined;
  if (req && !req.complete) {
    if (isBusy(socket)) return;
    logReadTimeout(log, 'REQUEST_READ_TIMEOUT', socket, req);
    if (res && res.req === req && !res.headersSent) {
      answer408(res, 'the request body was not received within request-read-timeout');
      return;
    }
    socket.destroy();
    return;
  }
  logReadTimeout(log, 'HEAD_TIMEOUT', socket);
  if (res) socket.destroy();
  else socket.end(rawResponse(408, 'the request head was not received within socket-timeout'));
}

/** The log line of a read deadline that passed (HEAD_TIMEOUT, REQUEST_READ_TIMEOUT). */
export function logReadTimeout(log: Log, event: 'HEAD_TIMEOUT' | 'REQUEST_READ_TIMEOUT', socket: Socket, req?: IncomingMessage): void {
  const what = event === 'HEAD_TIMEOUT'
    ? 'request head not received within socket-timeout'
    : 'request not received whole within request-read-timeout';
  log.warn({ event, client: socket.remoteAddress ?? 'unix', method: req?.method, path: req?.url }, `${what}: answered 408, connection closed`);
}

/**
 * socket-timeout passed on a connection that is not waiting on us: closed. When our response was
 * waiting for the client to read it (a client that stopped reading a stream), that is logged.
 */
export function closeIdle(socket: Socket, log: Log): void {
  if (socket.writableLength > 0) {
    log.warn({ event: 'SEND_TIMEOUT', client: socket.remoteAddress ?? 'unix', unsent: socket.writableLength }, 'the client read nothing of the response within socket-timeout: connection closed');
  }
  socket.destroy();
}

/** 408 on a response whose head has not gone out, closing the connection after it. */
export function answer408(res: ServerResponse, message: string): void {
  const body = `408 Request Timeout: ${message}\n`;
  res.shouldKeepAlive = false;
  ignoreLateWrites(res);
  res.writeHead(408, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}
