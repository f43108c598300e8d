// A server on a descriptor of a shared listening socket (src/master/shared-sockets.ts): node:http
// for an http-socket, the uwsgi front for a uwsgi-socket, with the same request-level limits.
import type { Server } from 'node:http';
import { createHttpServer, type HttpServerOptions } from './listeners.js';
import { UwsgiServer } from './uwsgi-listener.js';
import { listenOwn } from './own-listen.js';
import type { ListenFd } from '../protocol/worker.js';

export function listenOnDescriptor({ fd, kind }: ListenFd, opts: HttpServerOptions, backlog: number): Server {
  let server: Server;
  if (kind === 'uwsgi') {
    server = new UwsgiServer(opts);
    server.on('request', opts.onRequest);
  } else {
    server = createHttpServer(opts);
  }
  listenOwn(server, { fd }, backlog); // listen(handle, backlog): an options.backlog is ignored with fd
  return server;
}
