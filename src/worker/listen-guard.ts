// Spindle owns the sockets: an app that calls listen() itself (Express's `app.listen(3000)`,
// `server.listen(…)`, `fastify.listen()`) would serve outside Spindle from worker 1 (no harakiri,
// no limits, not in stats) and fail with EADDRINUSE in the others. In a request worker every
// net.Server listen() is refused with APP_LISTENS and the fix; Spindle's own servers listen
// through listenOwn() (src/front/own-listen.ts, which keeps the original).
import { Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SpindleError } from '../errors.js';
import '../front/own-listen.js'; // takes the original listen() before the guard replaces it

/** Spindle's own compiled sources (dist/src/), never the call site to show. */
const SPINDLE_DIR = fileURLToPath(new URL('../', import.meta.url));

export interface ListenGuard {
  /** The refusal's message, once the app has tried. */
  attempt?: string;
  /** Called at each attempt (the worker logs the ones made after the app has loaded). */
  onAttempt?: (message: string) => void;
}

/** Installs the guard in this thread (before the app loads). */
export function forbidListen(): ListenGuard {
  const guard: ListenGuard = {};
  Server.prototype.listen = function refusedListen(this: Server, ...args: unknown[]): Server {
    const message = `the app calls listen(${describeArgs(args)}) itself${callSite()}: Spindle owns the sockets and serves ` +
      'the app on its own addresses (--http-socket, --uwsgi-socket). Remove the listen() call and export the app instead: ' +
      '`export default app` (an Express, Koa, Fastify or Hono app, a fetch handler or a (req, res) function)';
    guard.attempt ??= message;
    guard.onAttempt?.(message);
    throw new SpindleError('APP_LISTENS', message);
  } as typeof Server.prototype.listen;
  return guard;
}

function describeArgs(args: unknown[]): string {
  const first = args[0];
  if (typeof first === 'number' || typeof first === 'string') return JSON.stringify(first);
  if (first && typeof first === 'object') {
    const o = first as { port?: unknown; path?: unknown; fd?: unknown };
    const v = o.port ?? o.path ?? o.fd;
    if (v !== undefined) return `{ ${o.port !== undefined ? 'port' : o.path !== undefined ? 'path' : 'fd'}: ${JSON.stringify(v)} }`;
  }
  return '';
}

/** " at /srv/app.mjs:12:5": the first frame in the app's own code (not Node's, Spindle's or a dependency's). */
function callSite(): string {
  const frames = (new Error().stack ?? '').split('\n')
    .map((l) => /\(?(?:file:\/\/)?(\/[^()]*?:\d+:\d+)\)?$/.exec(l.trim())?.[1])
    .filter((f): f is string => f !== undefined && !f.startsWith(SPINDLE_DIR));
  const own = frames.find((f) => !f.includes('/node_modules/')) ?? frames[0];
  return own ? ` at ${own}` : '';
}
