// Stopping the server, once: stop scheduling, let the workers drain (graceful, bounded by
// worker-reload-mercy) or answer what they hold 503 at once (quick), then the mules, then what the
// server's own steps close. A quick close during a graceful one (a second SIGTERM/SIGINT) cuts
// the drain short.
import type { Log } from '../log/logger.js';
import type { Background } from './background.js';
import type { Supervisor } from './supervisor.js';

/** What a shutdown stops (SpindleServer gives its parts and its own steps). */
export interface ShutdownSteps {
  readonly log: Log;
  readonly supervisor: Pick<Supervisor, 'shutdown' | 'live'>;
  readonly background: Pick<Background, 'stopScheduling' | 'close'>;
  /** First: no more commands (the master FIFO). */
  stopCommands(): void;
  /** Last, once the workers and mules are gone: stop listening, save, vacuum. */
  afterDrain(): Promise<void>;
}

export class Shutdown {
  private closing: Promise<void> | null = null;
  /** A second SIGTERM/SIGINT turns a graceful shutdown into a quick one. */
  private forceQuick = false;
  private quickNow: () => void = () => {};
  private readonly starting = new Set<() => void>();

  constructor(private readonly steps: ShutdownSteps) {}

  /** close() was called: the server is shutting down. */
  get started(): boolean {
    return this.closing !== null;
  }

  /** Calls `listener` once when the shutdown starts; returns what unsubscribes it. */
  onStart(listener: () => void): () => void {
    this.starting.add(listener);
    return () => this.starting.delete(listener);
  }

  close(graceful: boolean): Promise<void> {
    if (this.closing) {
      if (!graceful && !this.forceQuick) {
        this.forceQuick = true;
        this.quickNow();
      }
      return this.closing;
    }
    this.closing = this.run(graceful);
    for (const listener of this.starting) listener();
    this.starting.clear();
    return this.closing;
  }

  private async run(graceful: boolean): Promise<void> {
    const { log, supervisor, background } = this.steps;
    this.steps.stopCommands();
    background.stopScheduling();
    log.info({ event: 'GRACEFUL_SHUTDOWN', graceful, inFlight: this.inFlightCount() }, graceful ? 'graceful shutdown: draining requests' : 'quick shutdown');
    const workersDone = supervisor.shutdown(graceful);
    if (graceful) {
      const quick = new Promise<void>((resolve) => { this.quickNow = resolve; });
      await Promise.race([workersDone, quick]);
      if (this.forceQuick) await supervisor.shutdown(false);
    } else {
      await workersDone;
    }
    await background.close(graceful && !this.forceQuick);
    await this.steps.afterDrain();
  }

  private inFlightCount(): number {
    let n = 0;
    for (const h of this.steps.supervisor.live) n += h.requestsInFlight;
    return n;
  }
}
