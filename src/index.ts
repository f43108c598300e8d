// The package's public API: programmatic embedding (start) and the runtime API apps import.
export { SpindleError, ERROR_CODES, EXIT } from './errors.js';
export { start, type StartOptions, type RunningServer } from './master/start.js';
export type { ScaleResult } from './master/scaler.js';
export { workerId, setProcname, getProcname, setHarakiri } from './api/context.js';
export { cache, type Cache, type CacheStats, type SetOptions, type CacheKey } from './api/cache.js';
export { lock, unlock, lockAsync, tryLock, isLocked, withLock, withLockAsync, listLocks, type LockResult, type LockInfo } from './api/lock.js';
export { counter, listCounters, type Counter } from './api/counter.js';
export { timer, msTimer, cron, type TimerOptions, type TimerTick, type TimerHandler } from './api/timer.js';
export { registerSignal, signal, type SignalKey, type SignalHandler } from './api/signal.js';
export { muleMsg, mulefunc, muleId, inFarm, getMsg, messages, onMuleMessage, type MuleTarget, type MulefuncOptions } from './api/mule.js';
export { offload, type OffloadSpec } from './api/offload.js';
export type { CronFields } from './config/cron.js';
export { isInsideSpindle, installSharedCore, configureLocalCore } from './api/runtime.js';
export { createSharedCore, attachSharedCore, type SharedCore, type SharedCoreHandle, type CoreSpec } from './shm/layout.js';
export { parseCacheSpec, cacheMemoryBytes, type CacheSpec } from './shm/cache-spec.js';
