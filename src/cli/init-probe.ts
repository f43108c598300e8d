// `spindle init`'s measurement: load the app once in a worker thread, as a Spindle worker does
// (light Response installed, then load-app.ts), and report how long that took and the heap it left.
import { parentPort, workerData } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { performance } from 'node:perf_hooks';
import { installLightResponse } from '../worker/adapters/light-response.js';
import { loadApp } from '../worker/load-app.js';
import type { ProbeFailure, ProbeResult } from '../protocol/init-probe.js';
import { toWire } from '../protocol/errors.js';

const { appPath, exportName } = workerData as { appPath: string; exportName?: string };
installLightResponse();
const started = performance.now();
try {
  const app = await loadApp(appPath, { exportName });
  const result: ProbeResult = { ok: true, ms: performance.now() - started, heapBytes: getHeapStatistics().used_heap_size, kind: app.description };
  parentPort!.postMessage(result);
} catch (err) {
  const failure: ProbeFailure = { ok: false, error: toWire(err) };
  parentPort!.postMessage(failure);
}
