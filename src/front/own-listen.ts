// listen() for Spindle's own servers. In a request worker net.Server.prototype.listen refuses the
// app's calls (src/worker/listen-guard.ts); this is the original, taken before the guard exists.
import { Server } from 'node:net';

const ownListen = Server.prototype.listen;

export function listenOwn(server: Server, ...args: unknown[]): void {
  (ownListen as (...a: unknown[]) => Server).apply(server, args);
}
