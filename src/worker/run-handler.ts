// Runs one request through the app and settles its sink: the one place that knows how a handler's
// promise maps to "response complete" or "failed", for requests from the master and for the ones
// a worker accepts itself.
import { requestScope } from '../api/context.js';
import type { AppHandler, RequestContext, RequestData } from './app-types.js';
import type { PortSink } from './port-sink.js';

/** `done()` once the response is complete, or `done({ error })` when the handler failed. */
export function runHandler(
  handler: AppHandler, req: RequestData, sink: PortSink, ctx: RequestContext,
  done: (failure?: { error: unknown }) => void,
): void {
  requestScope.run({ id: req.id }, () => handler(req, sink, ctx)).then(
    () => {
      try {
        if (!sink.ended) sink.end();
      } finally {
        done();
      }
    },
    (error: unknown) => {
      sink.abandon();
      done({ error });
    },
  );
}
