// Listening sockets that can be handed to another process (full reload, src/master/full-reload/).
//
// TCP: the listening handle is sent over the IPC channel (SCM_RIGHTS); the new process listens on
// its copy and the old one closes its own descriptor, which leaves the socket (and its accept
// queue) open in the new process. Nothing is ever refused.
//
// UNIX: libuv unlinks a socket's path when the handle that bound it is closed (uv__pipe_close), so
// an old process that stops accepting would delete the path the new one serves on. A UNIX socket is
// therefore bound under a temporary name in the same directory and renamed into place: libuv only
// remembers (and at close unlinks) the temporary name, which no longer exists. The path appears
// atomically, already with its chmod-socket mode and chown-socket owner. When the temporary name would not fit a socket
// address (sun_path, 107 bytes), the socket is bound directly and marked `unlinksOnClose`; a full
// reload then refuses with the reason instead of breaking the socket.
import { chmodSync, chownSync, lstatSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { connect, type Server } from 'node:net';

/** A listening socket received from the previous process (full reload). */
export interface InheritedSocket {
  /** The raw TCP or Pipe handle, as received with the IPC message. */
  handle: object;
  /** As bound by the first process: 'http://127.0.0.1:8000', 'unix:/path', 'uwsgi://…'. */
  url: string;
  host?: string;
  port?: number;
  unixPath?: string;
}

const MAX_SUN_PATH = 103; // bytes, leaving room below Linux's 108 (107 + NUL) and macOS's 104
let tmpSeq = 0;

/** server.listen() as a promise that rejects on a bind error (EADDRINUSE, EACCES, …). */
export function listen(server: Server, where: object): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(where, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * A socket file nobody listens on (left by a crash) is removed; a live one is an error (plain: the
 * master's callers turn it into a ListenError, LISTEN_FAILED; this room does not import errors.ts).
 */
export async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // does not exist
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket; refusing to replace it`); // LISTEN_FAILED by the caller
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => { probe.destroy(); resolve(true); });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`${path} is in use by another server`); // LISTEN_FAILED by the caller
  unlinkSync(path);
}

/** chown-socket, resolved: -1 leaves the group (or user) as it is. */
export interface SocketOwner { uid: number; gid: number }

function setPermissions(path: string, mode: number | undefined, owner: SocketOwner | undefined): void {
  if (mode !== undefined) chmodSync(path, mode);
  if (owner) chownSync(path, owner.uid, owner.gid);
}

/**
 * Binds a UNIX socket at `path` (which must not exist: the caller removed a stale one) through a
 * temporary name, with `bind` (which binds without listening). Returns the handle, the socket
 * file's inode, and whether closing the handle unlinks `path`.
 */
export function bindUnixSocket<H extends { close(): void }>(path: string, mode: number | undefined,
  owner: SocketOwner | undefined, bind: (path: string) => H): { handle: H; ino: number; unlinksOnClose: boolean } {
  const tmp = join(dirname(path), `.sp-${process.pid}-${++tmpSeq}.${basename(path)}`.slice(0, 40));
  if (Buffer.byteLength(tmp) > MAX_SUN_PATH) {
    const handle = bind(path);
    setPermissions(path, mode, owner);
    return { handle, ino: lstatSync(path).ino, unlinksOnClose: true };
  }
  try { unlinkSync(tmp); } catch { /* not there */ }
  const handle = bind(tmp);
  try {
    setPermissions(tmp, mode, owner);
    renameSync(tmp, path);
  } catch (err) {
    handle.close();
    try { unlinkSync(tmp); } catch { /* gone */ }
    throw err;
  }
  return { handle, ino: lstatSync(path).ino, unlinksOnClose: false };
}
