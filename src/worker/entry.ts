// The request worker thread: load the app once, then run the requests the master sends.
import { parentPort, workerData } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { installThreadInfo, setThreadName } from '../api/context.js';
import { installSharedCore } from '../api/runtime.js';
import { onOtherCopy } from '../api/copies.js';
import type { SharedCoreHandle } from '../shm/layout.js';
import { createLazyLogger } from '../log/logger.js';
import type { AppHandler, LoadedApp, RequestData } from './app-types.js';
import { loadApp, AppLoadError } from './load-app.js';
import { forbidListen } from './listen-guard.js';
import {
  REQ, ABORT, STOP, LISTEN, QUIT, READY, LOAD_FAILED, FAIL, CONTROL,
  type ControlMessage, type ListenFd, type RequestMessage, type WorkerBoot, type WorkerMessage,
} from './protocol.js';
import { PortSink } from './port-sink.js';
import { RequestAbort } from './request-abort.js';
import { runHandler } from './run-handler.js';
import type { OwnHttp } from './own-http.js';
import { warmUpFetch } from './adapters/fetch.js';
import { installLightResponse } from './adapters/light-response.js';
import { errorText } from '../front/response-messages.js';
import { onBgMessage } from '../api/bg-thread.js';
import { BG, type BgToThread } from '../api/bg-protocol.js';

const port = parentPort!;
const boot = workerData as WorkerBoot;
const log = createLazyLogger({ level: boot.logLevel, format: boot.logFormat, base: { wid: boot.workerId } });

const post = (msg: WorkerMessage, transfer?: ArrayBuffer[]): void => port.postMessage(msg, transfer);

// The shared core is installed before the app loads, so its import-time code can use the cache.
const core = installSharedCore(boot.shared as SharedCoreHandle);
const slot = boot.workerId - 1;
installThreadInfo({
  kind: 'worker',
  workerId: boot.workerId,
  send: (m) => {
    if (m.kind === 'label') core.scoreboard.setLabel(slot, m.label);
    if (m.kind === 'harakiri' && ownHttp?.setHarakiri(m.requestId, m.seconds)) return;
    post([CONTROL, m]);
  },
});
setThreadName(boot.threadName);
// Before the app loads: an app that imports another copy of 'spindle' is reported (api/copies.ts).
const { own } = onOtherCopy((app) => post([CONTROL, { kind: 'other-copy', server: own, app }]));
// Background work (timer/signal runs, replies to muleMsg/offload): listening before the app loads,
// so calls made at import time get their replies.
port.on('message', (m: [number, BgToThread]) => { if (m[0] === BG) onBgMessage(m[1]); });

const inFlight = new Map<number, RequestAbort>();
let stopping = false;
/** accept = workers: the HTTP connections this worker accepts itself (once the app is loaded). */
let ownHttp: OwnHttp | null = null;

/** Exits once a stop was asked for and neither the master's requests nor its own are in flight. */
function finishStop(): void {
  if (!stopping || inFlight.size > 0 || (ownHttp && !ownHttp.idle)) return;
  ownHttp?.flush();
  // process.exit() in a worker ends this thread only; it also stops app timers and pools that
  // would otherwise keep the thread alive.
  process.exit(0);
}

function run(handler: AppHandler, m: RequestMessage): void {
  const id = m[1];
  const headers: [string, string][] = [];
  const raw = m[5];
  for (let i = 0; i < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
  const req: RequestData = {
    id, method: m[2], url: m[3], httpVersion: m[4], headers,
    remoteAddress: m[6], remotePort: m[7], localAddress: m[8], localPort: m[9],
    scheme: 'http', body: m[10],
  };
  // the AbortSignal itself is created only if the app asks for one
  const ctx = new RequestAbort(boot.workerId);
  inFlight.set(id, ctx);
  const sink = new PortSink(id, post);
  runHandler(handler, req, sink, ctx, (failure) => {
    if (failure) post([FAIL, id, sink.headSent, errorText(failure.error)]);
    settled(id);
  });
}

function settled(id: number): void {
  inFlight.delete(id);
  finishStop();
}

async function main(): Promise<void> {
  let handler: AppHandler;
  let app: LoadedApp;
  // Before the app's code runs: its `new Response(…)` then makes no web stream (light-response.ts).
  installLightResponse();
  const listenGuard = forbidListen(); // Spindle owns the sockets: the app's own listen() is refused
  try {
    app = await loadApp(boot.appPath);
    handler = app.handler;
  } catch (err) {
    if (listenGuard.attempt) {
      post([LOAD_FAILED, 'listens', listenGuard.attempt]);
      return;
    }
    const reason = err instanceof AppLoadError ? err.reason : 'threw';
    const cause = err instanceof AppLoadError ? err.cause : err;
    const detail = cause === undefined ? '' : cause instanceof Error ? cause.stack ?? cause.message : String(cause);
    const message = err instanceof Error ? err.message : String(err);
    post([LOAD_FAILED, reason, message.includes(detail) ? message : `${message}\n${detail}`]);
    return;
  }
  if (listenGuard.attempt) { // it caught the refusal itself: still not an app Spindle can serve
    post([LOAD_FAILED, 'listens', listenGuard.attempt]);
    return;
  }
  listenGuard.onAttempt = (message) => log.error({ event: 'APP_LISTENS' }, message);
  if (boot.ownHttp) {
    const report = (c: ControlMessage) => post([CONTROL, c]);
    const { OwnHttp } = await import('./own-http.js'); // node:http: only when this worker accepts
    ownHttp = new OwnHttp(boot.ownHttp, handler, app.dispatch, boot.workerId, log, report, finishStop);
  }
  port.on('message', (m: RequestMessage | [typeof ABORT, number] | [typeof STOP] | [typeof LISTEN, ListenFd[], number] | [typeof QUIT, string]) => {
    switch (m[0]) {
      case REQ:
        run(handler, m);
        break;
      case ABORT:
        inFlight.get(m[1])?.abort(new Error('request aborted by the server (client gone or harakiri)'));
        break;
      case STOP:
        stopping = true;
        ownHttp?.stop();
        finishStop();
        break;
      case LISTEN:
        ownHttp?.listen(m[1], m[2]);
        break;
      case QUIT:
        ownHttp?.abandonAll(503, m[1], 'shutdown');
        process.exit(0);
    }
  });
  post([READY]);
  // Load undici (about 20 ms on Node 20) while no request waits, not at the first one.
  if (app.kind === 'fetch') setImmediate(warmUpFetch);
  // The master recycles on this worker's own heap (reload-on-rss): report it every second.
  const reportHeap = () => {
    const heap = getHeapStatistics();
    core.scoreboard.setHeap(slot, heap.used_heap_size, heap.heap_size_limit);
    post([CONTROL, { kind: 'heap', used: heap.used_heap_size }]);
  };
  reportHeap();
  setInterval(reportHeap, 1000).unref();
  log.debug({ app: boot.appPath }, 'worker ready');
}

void main();
