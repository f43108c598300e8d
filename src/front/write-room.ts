// Backpressure on a response written to the client: does it have room for more body now, and if
// not, when. node:http says so with res.write()'s return value and the response's 'drain'.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** undefined when `res` takes more now; otherwise a promise that settles at its 'drain' or 'close'. */
export function whenWritable(res: ServerResponse): Promise<void> | undefined {
  if (!res.writableNeedDrain) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** node:http's flag behind writableNeedDrain, found on the first response that needs it. */
let kNeedDrain: symbol | undefined;

/**
 * What node:http's server does when a connection drains (socketOnDrain), for a response bound to
 * a socket outside it (the uwsgi front): the response's 'drain', so that writers waiting on it go on.
 */
export function forwardDrain(socket: Socket, res: ServerResponse): void {
  socket.on('drain', () => {
    if (!res.writableNeedDrain) return;
    kNeedDrain ??= Object.getOwnPropertySymbols(res).find((s) => s.description === 'kNeedDrain');
    if (kNeedDrain !== undefined) (res as unknown as Record<symbol, boolean>)[kNeedDrain] = false;
    res.emit('drain');
  });
}
