// The request worker thread: load the app once, then accept and serve HTTP and uwsgi connections
// on the descriptors the master copies for it (own-http.ts), and take the background work the
// master sends it: timer, cron and signal handler runs, replies to muleMsg and offload (api/bg-thread.ts).
import { parentPort, workerData, threadId } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { installThreadInfo, setThreadName } from '../api/context.js';
import { installSharedCore } from '../api/runtime.js';
import { onOtherCopy } from '../api/copies.js';
import type { SharedCoreHandle } from '../shm/layout.js';
import { createLazyLogger, loadLogModules } from '../log/logger.js';
import type { LoadedApp } from './app-types.js';
import { loadApp, AppLoadError } from './load-app.js';
import { forbidListen } from './listen-guard.js';
import {
  STOP, LISTEN, QUIT, READY, LOAD_FAILED, CONTROL,
  type ControlMessage, type ListenFd, type WorkerBoot, type WorkerMessage,
} from '../protocol/worker.js';
import type { OwnHttp } from './own-http.js';
import { warmUpFetch } from './adapters/fetch.js';
import { installLightResponse } from './adapters/light-response.js';
import { onBgMessage } from '../api/bg-thread.js';
import { BG, type BgToThread } from '../protocol/background.js';
import { errorDetail } from '../protocol/errors.js';

const port = parentPort!;
const boot = workerData as WorkerBoot;
const log = createLazyLogger({ level: boot.logLevel, format: boot.logFormat, fd: boot.logFd, base: { wid: boot.workerId } });

const post = (msg: WorkerMessage): void => port.postMessage(msg);

// The shared core is installed before the app loads, so its import-time code can use the cache.
const core = installSharedCore(boot.shared as SharedCoreHandle);
const slot = boot.workerId - 1;
// The scoreboard slot is this thread's until a replacement is spawned in it (recycle, reload).
const ownsSlot = (): boolean => core.scoreboard.owns(slot, threadId);
installThreadInfo({
  kind: 'worker',
  workerId: boot.workerId,
  setLabel: (label) => { if (ownsSlot()) core.scoreboard.setLabel(slot, label); },
  send: (m) => {
    if (m.kind === 'harakiri') {
      ownHttp?.setHarakiri(m.requestId, m.seconds);
      return;
    }
    post([CONTROL, m]);
  },
});
setThreadName(boot.threadName);
// Before the app loads: an app that imports another copy of 'spindle' is reported (api/copies.ts).
const { own } = onOtherCopy((app) => post([CONTROL, { kind: 'other-copy', server: own, app }]));
let stopping = false;
/** The HTTP connections this worker accepts itself (once the app is loaded). */
let ownHttp: OwnHttp | null = null;

// Listening before the app loads: calls made at import time get their replies (background work:
// timer/signal runs, muleMsg/offload), and a stop asked for while the app loads (a shutdown
// during start-up) is not lost: with nothing to drain yet, the thread exits at once.
type FromMaster = [typeof BG, BgToThread] | [typeof STOP] | [typeof LISTEN, ListenFd[], number] | [typeof QUIT, string];
port.on('message', (m: FromMaster) => {
  switch (m[0]) {
    case BG:
      onBgMessage(m[1]);
      break;
    case STOP:
      stopping = true;
      ownHttp?.stop();
      finishStop();
      break;
    case LISTEN: // sent only once READY was
      ownHttp!.listen(m[1], m[2]);
      break;
    case QUIT:
      ownHttp?.abandonAll({ status: 503, message: m[1], note: 'shutdown' }, 'the worker was stopped');
      process.exit(0);
  }
});

/** Exits once a stop was asked for and no request is in flight. */
function finishStop(): void {
  if (!stopping || (ownHttp && !ownHttp.idle)) return;
  ownHttp?.flush();
  // process.exit() in a worker ends this thread only; it also stops app timers and pools that
  // would otherwise keep the thread alive.
  process.exit(0);
}

async function main(): Promise<void> {
  let app: LoadedApp;
  // Before the app's code runs: its `new Response(…)` then makes no web stream (light-response.ts).
  installLightResponse();
  const listenGuard = forbidListen(); // Spindle owns the sockets: the app's own listen() is refused
  try {
    app = await loadApp(boot.appPath, { exportName: boot.appExport });
  } catch (err) {
    if (listenGuard.attempt) {
      post([LOAD_FAILED, 'listens', listenGuard.attempt]);
      return;
    }
    const reason = err instanceof AppLoadError ? err.reason : 'threw';
    const cause = err instanceof AppLoadError ? err.cause : err;
    const detail = cause === undefined ? '' : errorDetail(cause);
    const message = err instanceof Error ? err.message : String(err);
    post([LOAD_FAILED, reason, message.includes(detail) ? message : `${message}\n${detail}`]);
    return;
  }
  if (listenGuard.attempt) { // it caught the refusal itself: still not an app Spindle can serve
    post([LOAD_FAILED, 'listens', listenGuard.attempt]);
    return;
  }
  listenGuard.onAttempt = (message) => log.error({ event: 'APP_LISTENS' }, message);
  const report = (c: ControlMessage) => post([CONTROL, c]);
  const { OwnHttp } = await import('./own-http.js');
  const http = new OwnHttp(boot.ownHttp, app.handler, app.dispatch, boot.workerId, log, report, finishStop);
  ownHttp = http;
  loadLogModules(); // before any client can make this worker log
  post([READY]);
  // Load undici (about 20 ms on Node 20) while no request waits, not at the first one.
  if (app.kind === 'fetch') setImmediate(warmUpFetch);
  // The master recycles on this worker's own memory (reload-on-rss): write it into the scoreboard
  // every second. Its isolate's external memory (Buffers, ArrayBuffers; not SharedArrayBuffers it
  // was given) counts too: process.memoryUsage().rss is the whole process's.
  const reportHeap = () => {
    if (!ownsSlot()) return;
    const heap = getHeapStatistics();
    core.scoreboard.setHeap(slot, heap.used_heap_size, heap.heap_size_limit, heap.external_memory);
  };
  reportHeap();
  setInterval(reportHeap, 1000).unref();
  log.debug({ event: 'WORKER_READY', app: boot.appPath }, 'worker ready');
}

void main();
