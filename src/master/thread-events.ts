// What the master does when a thread reports something or dies: a worker's CONTROL messages go
// to the part that handles them; a dead thread's shared locks are released.
import type { Log } from '../log/logger.js';
import type { SharedCore } from '../shm/layout.js';
import { CONTROL, type WorkerMessage } from '../protocol/worker.js';
import type { WorkerAccept } from './accept-workers.js';
import type { Background } from './background.js';
import { warnOtherCopy } from './package-copies.js';
import type { WorkerHandle } from './worker-handle.js';

export interface ControlTargets {
  readonly log: Log;
  readonly accept: Pick<WorkerAccept, 'served'>;
  readonly background: Pick<Background, 'onWorkerControl'>;
}

/** served: request counts (in batches); bg: background work (timers, mules, offload); other-copy: a second Spindle package. */
export function routeControl(to: ControlTargets, h: WorkerHandle, m: WorkerMessage): void {
  if (m[0] !== CONTROL) return;
  const c = m[1];
  if (c.kind === 'served') to.accept.served(h, c);
  else if (c.kind === 'bg') to.background.onWorkerControl(h, c.m);
  else if (c.kind === 'other-copy') warnOtherCopy(to.log, c.server, c.app);
}

/** A thread died: release the locks it held, repair what it was writing (robust locks). */
export function releaseDeadThread(core: Pick<SharedCore, 'onThreadExit'>, log: Log, threadId: number): void {
  const report = core.onThreadExit(threadId);
  if (report.locks.length || report.caches.length || report.counterTable) {
    log.warn({ event: 'LOCKS_RELEASED', threadId, locks: report.locks, caches: report.caches }, 'a dead thread held shared locks: released; the next owner is told the data may be inconsistent');
  }
}
