// Runs one request through an app adapter and settles its sink: the one place that knows how a
// handler's promise maps to "response complete" or "failed" (own-http.ts, for fetch apps and Node
// apps whose body is read first).
import { runInRequest } from '../api/request-scope.js';
import type { AppHandler, RequestContext, RequestData } from './app-types.js';
import type { PartSink } from './part-sink.js';

/** `done()` once the response is complete, or `done({ error })` when the handler failed. */
export function runHandler(
  handler: AppHandler, req: RequestData, sink: PartSink, ctx: RequestContext,
  done: (failure?: { error: unknown }) => void,
): void {
  const result = runInRequest(req.id, handler, req, sink, ctx);
  if (result === undefined) {
    // complete already (sent within the handler's synchronous run)
    complete(sink, done);
    return;
  }
  result.then(
    () => complete(sink, done),
    (error: unknown) => {
      sink.abandon();
      done({ error });
    },
  );
}

function complete(sink: PartSink, done: (failure?: { error: unknown }) => void): void {
  try {
    if (!sink.ended) sink.end();
  } finally {
    done();
  }
}
