// The HTTP listeners: TCP and UNIX sockets owned by the master, with the request-level limits
// (buffer-size, socket-timeout) enforced by node:http and every malformed request answered.
import { STATUS_CODES, createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { parseAddress, type ParsedAddress } from '../config/address.js';
import type { Log } from '../log/logger.js';
import { bindUnixSocket, listen, listenOnInherited, removeStaleSocket, type InheritedSocket } from './inherit.js';
import { answer408, answerReadTimeout, closeIdle, requestTimeoutMs } from './read-deadline.js';

export interface HttpServerOptions {
  maxHeaderBytes: number;
  socketTimeoutMs: number;
  /** request-read-timeout: the whole request must arrive within this of its first byte (0 or absent: no limit). */
  requestReadTimeoutMs?: number;
  log: Log;
  onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** Is this socket's request with a worker or in the backlog? Then idleness is not its fault. */
  isBusy: (socket: Socket) => boolean;
}

export interface ListenerOptions extends HttpServerOptions {
  chmodSocket?: number;
  /** Full reload: listen on this socket from the previous process instead of binding. */
  inherited?: InheritedSocket;
}

export interface Listener {
  server: Server;
  /** As configured. */
  spec: string;
  /** As bound: 'http://127.0.0.1:8000' or 'unix:/path'. */
  url: string;
  host?: string;
  port?: number;
  unixPath?: string;
  /** Identity of the socket file we created, so vacuum never removes someone else's. */
  unixIno?: number;
  /** Closing the handle unlinks the UNIX path (bound without a temporary name; see inherit.ts). */
  unlinksOnClose?: boolean;
}

export async function openListener(spec: string, opts: ListenerOptions): Promise<Listener> {
  const addr = parseAddress(spec);
  const server = createHttpServer(opts);
  return bindListener(server, spec, addr, opts, { tcp: 'http://', unix: 'unix:' });
}

/**
 * Puts `server` on its address: the socket inherited from the previous process (full reload), a
 * UNIX path (a stale socket file is replaced, a live one refused) or host:port. `schemes` prefix
 * the bound address in the listener's url ('http://127.0.0.1:8000', 'unix:/run/app.sock').
 */
export async function bindListener(
  server: Server, spec: string, addr: ParsedAddress,
  opts: Pick<ListenerOptions, 'chmodSocket' | 'inherited'>, schemes: { tcp: string; unix: string },
): Promise<Listener> {
  if (opts.inherited) {
    const i = opts.inherited;
    await listenOnInherited(server, i);
    // unixIno stays unset until the handover completes (vacuum leaves a file it cannot prove ours)
    return { server, spec, url: i.url, host: i.host, port: i.port, unixPath: i.unixPath };
  }
  if (addr.kind === 'unix') {
    await removeStaleSocket(addr.path);
    const bound = await bindUnixSocket(server, addr.path, opts.chmodSocket, 511);
    return { server, spec, url: `${schemes.unix}${addr.path}`, unixPath: addr.path, unixIno: bound.ino, unlinksOnClose: bound.unlinksOnClose };
  }
  await listen(server, { host: addr.host, port: addr.port, backlog: 511 });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : addr.port;
  const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  return { server, spec, url: `${schemes.tcp}${host}:${port}`, host: addr.host, port };
}

/**
 * node:http with Spindle's request-level limits: buffer-size (431), socket-timeout for heads,
 * stalled bodies (408) and idle keep-alive connections, and an answer to every malformed request.
 * The master's listeners and, with accept = workers, every worker's shared socket use it.
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
  }, opts.onRequest);
  // Inactivity: a connection that sends nothing for socket-timeout while we wait on it is closed
  // (slowloris); one waiting on us (backlog, worker) is left alone.
  server.setTimeout(opts.socketTimeoutMs, (socket: Socket) => {
    if (opts.isBusy(socket)) return;
    const res = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (res && !res.headersSent && !res.writableEnded) {
      // Headers arrived but the body stalls: say so before closing.
      opts.log.warn({ event: 'BODY_TIMEOUT', client: socket.remoteAddress, method: res.req.method, path: res.req.url }, 'request body not received within socket-timeout: answered 408, connection closed');
      answer408(res, 'the request body was not received within socket-timeout');
      return;
    }
    closeIdle(socket, opts.log);
  });
  server.on('clientError', (err: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      answerReadTimeout(socket, opts.log, opts.isBusy);
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
