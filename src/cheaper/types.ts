// The cheaper subsystem's vocabulary: what the master shows an algorithm (a snapshot of the worker
// slots), the options, and what comes back (a decision with the numbers behind it). Nothing here
// reads a clock or touches a worker: the algorithms are deterministic and take `now` as input.

/** One active worker slot (a worker is running in it and it is not cheap). */
export interface SlotView {
  /** Slot id, 1..processes. */
  readonly id: number;
  /** At least one request in flight right now. */
  readonly busy: boolean;
  /**
   * Cumulative milliseconds this slot has spent with at least one request in flight, since the
   * server started, *including the elapsed part of requests still running* (continuous
   * measurement). Monotonic per slot; a slot's counter starts at 0 and survives respawns. The
   * busyness algorithm takes deltas of it between windows.
   */
  readonly busyMs: number;
  /** When the slot's current worker was spawned (monotonic ms, same clock as `now`). */
  readonly spawnedAt: number;
  /**
   * false while the worker cannot be stopped by the cheaper: it is still loading its app, or a
   * replacement (recycle, reload) is being started for it. Such a worker is never the victim.
   * Default true.
   */
  readonly stoppable?: boolean;
}

export interface Snapshot {
  /** Active slots, ascending id. */
  readonly active: readonly SlotView[];
  /** Cheap slots with no worker left in them, ascending id: where spawns go. */
  readonly free: readonly number[];
  /**
   * Requests waiting for a worker: the connections waiting in the kernel's accept queue of the TCP listening sockets (the longest).
   */
  readonly backlog: number;
}

export type AlgoName = 'busyness' | 'spare' | 'backlog' | 'manual';

export interface BusynessOptions {
  /** percent */
  readonly min: number;
  /** percent */
  readonly max: number;
  readonly multiplier: number;
  readonly penalty: number;
  /** queued requests */
  readonly backlogAlert: number;
  readonly backlogStep: number;
  readonly backlogMultiplier: number;
  /** milliseconds; 0 = off */
  readonly backlogNonzeroMs: number;
  readonly verbose: boolean;
}

export interface CheaperOptions {
  readonly algo: AlgoName;
  /** `cheaper`: minimum number of active workers (> 0). */
  readonly min: number;
  /** `processes`: the number of slots, i.e. the maximum. */
  readonly processes: number;
  /** `cheaper-initial`: workers started at boot. */
  readonly initial: number;
  /** `cheaper-step`: workers spawned per overload decision. */
  readonly step: number;
  /**
   * `cheaper-overload` as configured. busyness: window length in seconds; spare: number of
   * overloaded checks; backlog: queue-length threshold.
   */
  readonly overload: number;
  /** How often the master runs a check, ms (uWSGI check-interval: 1 s). */
  readonly checkIntervalMs: number;
  readonly busyness: BusynessOptions;
}

/** The event codes of the algorithms' log lines (each one is in src/log/events.ts, which the master checks). */
export type CheaperEvent = 'CHEAPER_SPAWN' | 'CHEAPER_STOP' | 'CHEAPER_AT_MAX' | 'CHEAPER_AT_MIN' | 'CHEAPER_STOPS_OWED' |
  'CHEAPER_SETTINGS' | 'CHEAPER_WINDOW' | 'CHEAPER_CHECK' | 'CHEAPER_BACKLOG' | 'CHEAPER_MULTIPLIER' | 'CHEAPER_IDLE_WAIT' |
  'CHEAPER_TIMER_RESET' | 'CHEAPER_TIMER_BACK' | 'CHEAPER_EMERGENCY';

/** One line for the log: always written, or only with cheaper-busyness-verbose. */
export interface LogRecord {
  readonly event: CheaperEvent;
  readonly verbose: boolean;
  readonly level: 'info' | 'warn';
  readonly msg: string;
  readonly fields: Readonly<Record<string, number | string | boolean | number[]>>;
}

/** What an algorithm returns for one check: >0 spawn up to that many, <0 cheap that many, 0 nothing. */
export interface AlgoResult {
  readonly delta: number;
  readonly reason: string;
  readonly records: LogRecord[];
}

export interface Algorithm {
  readonly name: AlgoName;
  /** One check. `canSpawn` is false when spawning is not allowed (kept for uWSGI's rss limits). */
  decide(s: Snapshot, now: number, canSpawn: boolean): AlgoResult;
}

/** What the master must do after a check. */
export interface Decision {
  /** Slots to start a worker in (lowest free first). */
  readonly spawn: number[];
  /** Slots whose workers are to be stopped gracefully and left cheap (at most one per check). */
  readonly cheap: number[];
  /** Why ('' when nothing is done). */
  readonly reason: string;
  /** Cheaps still owed because every worker was busy (retried at the next check). */
  readonly deferred: number;
  /** The numbers behind the decision. */
  readonly records: LogRecord[];
}
