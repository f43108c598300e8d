// `req.signal` for Node (req, res) apps: an AbortSignal that fires when the server gives up on the
// request (harakiri's graceful stage) or the client goes away, as a fetch Request's signal does.
// Defined once on this thread's IncomingMessage prototype; the controller is created only for a
// request whose app reads `req.signal`, so the others pay nothing. Node 24 has a `req.signal` of its
// own that fires when the client goes away; this one replaces it, since only the server's own
// controller can fire on harakiri, and it fires when the client goes away too.
import { IncomingMessage } from 'node:http';

const kController = Symbol('spindle.abortController');
type WithController = IncomingMessage & { [kController]?: AbortController };

declare module 'node:http' {
  interface IncomingMessage {
    /** Spindle: fires when the server gives up on this request (harakiri) or the client leaves. */
    readonly signal: AbortSignal;
  }
}

let installed = false;

export function installRequestSignal(): void {
  if (installed) return;
  installed = true;
  Object.defineProperty(IncomingMessage.prototype, 'signal', {
    configurable: true,
    get(this: WithController): AbortSignal {
      return (this[kController] ??= new AbortController()).signal;
    },
  });
}

/** Fires `req.signal` if the app has read it; false if nobody is listening. */
export function abortRequest(req: IncomingMessage, reason: Error): boolean {
  const c = (req as WithController)[kController];
  if (!c) return false;
  if (!c.signal.aborted) c.abort(reason);
  return true;
}
