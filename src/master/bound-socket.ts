// A listening socket the master binds but never accepts on. net.Server.listen() starts accepting
// at once, and the master's copy of the descriptor arrives asynchronously (shared-sockets.ts): a
// connection accepted by the master in between would never be answered. So the socket is bound
// without listening (the raw handle net's cluster support binds with), copied, and only then
// put in the listening state and closed in the same tick, before this thread's event loop could
// accept anything. The copy keeps the socket, now listening, open for the workers.
import * as net from 'node:net';
import { lookup } from 'node:dns/promises';
import { getSystemErrorName } from 'node:util';

/** libuv's TCP or Pipe server handle as net's internals hand it out. */
export interface ServerHandle {
  readonly fd: number;
  close(): void;
  listen(backlog: number): number;
  getsockname(out: { port?: number }): number;
}

type CreateServerHandle = (address: string, port: number, addressType: number) => ServerHandle | number;
const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;

/** A system error as net.Server would raise it (code EADDRINUSE, EACCES, …). */
function systemError(errno: number, syscall: string, where: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  return Object.assign(new Error(`${syscall} ${code} ${where}`), { code, errno, syscall });
}

/** Binds host:port (a host name is resolved first, as net.Server does); nothing listens yet. */
export async function bindTcp(host: string, port: number): Promise<{ handle: ServerHandle; port: number }> {
  const ip = net.isIP(host) !== 0 ? host : (await lookup(host)).address;
  const handle = createServerHandle(ip, port, net.isIP(ip));
  if (typeof handle === 'number') throw systemError(handle, 'bind', `${ip}:${port}`);
  const out: { port?: number } = {};
  const err = handle.getsockname(out);
  if (err !== 0) {
    handle.close();
    throw systemError(err, 'getsockname', `${ip}:${port}`);
  }
  return { handle, port: out.port ?? port };
}

/** Binds a UNIX socket file at `path` (which must not exist); nothing listens yet. */
export function bindUnix(path: string): ServerHandle {
  const handle = createServerHandle(path, -1, -1);
  if (typeof handle === 'number') throw systemError(handle, 'bind', path);
  return handle;
}

/**
 * Puts the socket behind `handle` in the listening state and closes `handle`, synchronously: its
 * own descriptor is never polled, so it never accepts. Another descriptor of the socket must be
 * open (the keeper), or the socket closes with it. A Pipe handle's close unlinks the path it was
 * bound at: bind UNIX sockets under a temporary name and rename them (front/inherit.ts).
 */
export function listenAndRelease(handle: ServerHandle, backlog: number, where: string): void {
  const err = handle.listen(backlog);
  handle.close();
  if (err !== 0) throw systemError(err, 'listen', where);
}
