// The offload pool: piscina 5 in the master, `offload-threads` threads started on first use
// (idle ones stop after 30 s). A task's timeout is an AbortSignal.timeout(): piscina terminates
// the thread running it and starts a replacement. Note: the timeout also counts time spent
// waiting for a free pool thread.
import { Piscina } from 'piscina';
import type { Log } from '../log/logger.js';
import type { OffloadTask } from '../protocol/background.js';
import { toWire, type WireError } from '../protocol/errors.js';
import { errorMessage } from '../errors.js';

const TASK = new URL('../worker/offload-task.js', import.meta.url);

export class OffloadPool {
  private pool?: Piscina;
  completed = 0;
  failed = 0;
  timedOut = 0;

  constructor(
    private readonly threads: number,
    private readonly defaultTimeoutMs: number,
    private readonly shared: unknown,
    private readonly log: Log,
  ) {}

  async run(task: OffloadTask, args: unknown[], timeoutMs: number): Promise<{ ok: true; value: unknown } | { ok: false; error: WireError }> {
    if (this.threads <= 0) return { ok: false, error: { name: 'SpindleError', code: 'SERVER_STATE', message: 'offload() needs offload-threads > 0' } };
    this.pool ??= new Piscina({
      filename: TASK.href, minThreads: 0, maxThreads: this.threads, idleTimeout: 30_000,
      workerData: { shared: this.shared },
    });
    const ms = timeoutMs < 0 ? this.defaultTimeoutMs : timeoutMs;
    try {
      const value: unknown = await this.pool.run({ task, args }, ms > 0 ? { signal: AbortSignal.timeout(ms) } : {});
      this.completed++;
      return { ok: true, value };
    } catch (err) {
      const e = err as Error;
      if (e.name === 'AbortError' || e.name === 'TimeoutError') {
        this.timedOut++;
        this.log.warn({ event: 'OFFLOAD_TIMEOUT', timeoutMs: ms, task: 'src' in task ? '(function)' : `${task.module}#${task.export}` }, 'offload task timed out: its thread was terminated');
        return { ok: false, error: { name: 'SpindleError', code: 'OFFLOAD_TIMEOUT', message: errorMessage('OFFLOAD_TIMEOUT', { ms }) } };
      }
      this.failed++;
      return { ok: false, error: toWire(err, 'OFFLOAD_FAILED') };
    }
  }

  async close(): Promise<void> {
    if (this.pool) await this.pool.destroy();
  }

  stats(): { threads: number; running: number; queued: number; completed: number; failed: number; timedOut: number } {
    return {
      threads: this.pool?.threads.length ?? 0, running: this.pool ? this.pool.threads.length - this.pool.idleThreads : 0,
      queued: this.pool?.queueSize ?? 0, completed: this.completed, failed: this.failed, timedOut: this.timedOut,
    };
  }
}
