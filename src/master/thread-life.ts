// What every thread the master supervises shares, request worker or mule: why it ended (a code
// from the moment the master decides, never parsed back from a log text), how long to wait before
// respawning one that keeps crashing, and terminating one that may be stuck in native code.
import type { Worker } from 'node:worker_threads';
import type { Log } from '../log/logger.js';
import type { ExitReason } from '../shm/scoreboard.js';

/**
 * Why a thread ended, as the master logs it (`reason`), each with the scoreboard's code for it
 * (stats `last_exit_reason`, `worker_exits`). The master picks one when it decides to end a
 * thread; a thread that ends on its own is `crashed` (or `oom`).
 */
export const END_REASONS = {
  'max-requests': 'recycle-requests',
  'max-worker-lifetime': 'recycle-lifetime',
  'reload-on-rss': 'recycle-heap',
  'evil-reload-on-rss': 'recycle-heap',
  harakiri: 'harakiri',
  'mule-harakiri': 'harakiri',
  reload: 'reload',
  cheaper: 'cheaped',
  shutdown: 'normal',
  /** a replacement whose slot was refilled while it loaded */
  superseded: 'normal',
  'start-up-failed': 'error',
  'load-failed': 'error',
  crashed: 'error',
  oom: 'oom',
} as const satisfies Record<string, ExitReason>;
export type EndReason = keyof typeof END_REASONS;

/**
 * The end of a thread the master did not end (`decided` undefined): `oom` when V8 ran out of the
 * worker's heap (worker-heap-limit), else `crashed`.
 */
export function endReason(decided: EndReason | undefined, err?: Error): EndReason {
  if (decided) return decided;
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'crashed';
}

/** A thread that lived at least this long after a crash resets the crash streak. */
export const HEALTHY_LIFETIME_MS = 10_000;
export const MAX_BACKOFF_MS = 10_000;

/**
 * The crash streak of one slot: the first crash respawns at once, each further one within
 * HEALTHY_LIFETIME_MS of its start doubles the wait (100 ms, 200 ms, …, at most MAX_BACKOFF_MS).
 */
export class CrashBackoff {
  streak = 0;

  /** A thread of the slot crashed after `lifetimeMs`. */
  crashed(lifetimeMs: number): void {
    this.streak = lifetimeMs >= HEALTHY_LIFETIME_MS ? 1 : this.streak + 1;
  }

  /** A start failed (the app did not load): counts as a crash with no lifetime. */
  failed(): void {
    this.streak++;
  }

  reset(): void {
    this.streak = 0;
  }

  /** How long to wait before the next start. */
  get delayMs(): number {
    return this.streak <= 1 ? 0 : Math.min(100 * 2 ** (this.streak - 2), MAX_BACKOFF_MS);
  }
}

/**
 * Terminates `thread`. terminate() waits while the thread is in native code (a synchronous
 * syscall, an addon): after a second the wait is logged (`ZOMBIE_THREAD`), as the thread lingers.
 */
export async function terminateThread(thread: Worker, log: Log, fields: Record<string, unknown>): Promise<void> {
  const slow = setTimeout(() => {
    log.warn({ event: 'ZOMBIE_THREAD', ...fields }, 'thread is stuck in native code and cannot be interrupted yet; it is a zombie until that call returns');
  }, 1000);
  slow.unref();
  try {
    await thread.terminate();
  } finally {
    clearTimeout(slow);
  }
}
