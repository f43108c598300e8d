// What an application imports from 'spindle': the runtime API (cache, locks, counters, timers,
// crons, signals, mules, offload, per-worker context). Light on purpose: a worker thread that
// imports it loads the API and the shared-memory views only, nothing of the master (embedding
// lives in 'spindle/server', src/server.ts).
import './api/copies.js'; // a second copy of the package in the app is detected and reported
export { SpindleError, ERROR_CODES, type ErrorCode } from './errors.js';
export { workerId, setProcname, getProcname, setHarakiri } from './api/context.js';
export { cache, type Cache, type CacheStats, type SetOptions, type CacheKey } from './api/cache.js';
export { lock, unlock, lockAsync, tryLock, isLocked, withLock, withLockAsync, listLocks, type LockResult, type LockInfo } from './api/lock.js';
export { counter, listCounters, type Counter } from './api/counter.js';
export { timer, msTimer, cron, type TimerOptions, type TimerTick, type TimerHandler } from './api/timer.js';
export { registerSignal, signal, type SignalKey, type SignalHandler } from './api/signal.js';
export { muleMsg, mulefunc, muleId, inFarm, getMsg, messages, onMuleMessage, type MuleTarget, type MulefuncOptions } from './api/mule.js';
export { offload, type OffloadSpec } from './api/offload.js';
export type { CronFields } from './config/cron.js';
// Outside Spindle (an app's own unit tests): which backing the API uses, and its geometry.
export { isInsideSpindle, configureLocalCore } from './api/runtime.js';
