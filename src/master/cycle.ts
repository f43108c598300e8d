// The master's 100 ms cycle: harakiri, recycling and respawns (supervisor), the mules' deadlines,
// adaptive scaling, and once a second the expired cache items (a sweep never blocks).
import { performance } from 'node:perf_hooks';
import type { SharedCore } from '../shm/layout.js';
import type { Mules } from './mules.js';
import type { Scaler } from './scaler.js';
import type { Supervisor } from './supervisor.js';

const TICK_MS = 100;

export interface CycleParts {
  readonly supervisor: Pick<Supervisor, 'tick'>;
  readonly mules: Pick<Mules, 'tick'>;
  readonly scaler: Pick<Scaler, 'tick'> | null;
  readonly core: Pick<SharedCore, 'sweep'>;
  /** No scaling while the server shuts down. */
  shuttingDown(): boolean;
}

export class MasterCycle {
  private timer?: NodeJS.Timeout;

  constructor(private readonly parts: CycleParts) {}

  /** Started once the server serves. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    const p = this.parts;
    let ticks = 0;
    this.timer = setInterval(() => {
      const now = performance.now();
      p.supervisor.tick(now);
      p.mules.tick(now);
      if (!p.shuttingDown()) p.scaler?.tick();
      if (++ticks % 10 === 0) p.core.sweep();
    }, TICK_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
