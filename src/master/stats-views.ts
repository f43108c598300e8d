// `RunningServer.stats()` for programs that embed Spindle: the workers slot by slot, in camelCase.
// (The uWSGI-compatible document that `stats ADDR` serves is built in src/master/stats.ts.)
import { performance } from 'node:perf_hooks';
import type { SharedCore } from '../shm/layout.js';
import type { Scaler, CheaperStats } from './scaler.js';
import type { Supervisor } from './supervisor.js';

export interface ServerStats {
  pid: number;
  addresses: string[];
  requests: number;
  backlog: number;
  respawns: number;
  harakiris: number;
  /** cheap: the slot is stopped by the cheaper (no worker; started again when load rises). */
  workers: { id: number; state: string; threadId: number; requests: number; inFlight: number; label: string; heapUsed: number; uptimeMs: number; cheap: boolean }[];
  /** Adaptive scaling, null when cheaper = 0. */
  cheaper: CheaperStats | null;
}

/** What the view is built from (SpindleServer). */
export interface ServerStatsSource {
  readonly addresses: string[];
  readonly requestsTotal: number;
  readonly supervisor: Pick<Supervisor, 'respawns' | 'harakiris' | 'slots' | 'cheap'>;
  readonly core: Pick<SharedCore, 'scoreboard'>;
  readonly scaler: Pick<Scaler, 'stats'> | null;
}

export function serverStats(src: ServerStatsSource, backlog: number): ServerStats {
  const now = performance.now();
  return {
    pid: process.pid,
    addresses: src.addresses,
    requests: src.requestsTotal,
    backlog,
    respawns: src.supervisor.respawns,
    harakiris: src.supervisor.harakiris,
    workers: src.supervisor.slots.slice(1).map((h, i) => ({
      id: i + 1,
      state: h ? h.state : 'empty',
      threadId: h?.threadId ?? 0,
      requests: h?.served ?? 0,
      inFlight: h?.requestsInFlight ?? 0,
      // the scoreboard holds what the worker thread writes (its label, its heap)
      label: h ? src.core.scoreboard.snapshot(i).label : '',
      heapUsed: h ? src.core.scoreboard.memory(i, h.threadId).heapUsed : 0,
      uptimeMs: h && h.readyAt ? Math.round(now - h.readyAt) : 0,
      cheap: src.supervisor.cheap.has(i + 1),
    })),
    cheaper: src.scaler ? src.scaler.stats() : null,
  };
}
