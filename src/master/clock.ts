// The wall clock of crons. Crons follow local wall-clock minutes (as uWSGI's localtime()).
//
// TEST ONLY: TEST_ONLY_SPINDLE_CRON_CLOCK="2026-03-02T10:19:50Z@30" starts the cron clock at that instant
// (when the master starts checking crons) and runs it 30× faster than real time, so tests can watch minutes go by. Never set it in
// production (the master logs a warning when it is set).
export interface CronClock {
  now(): number;
  /** How often the master checks the cron table (real ms). */
  checkEveryMs: number;
  /** Description for the start-up warning when a test clock is active. */
  test?: string;
}

export function cronClock(env: NodeJS.ProcessEnv = process.env): CronClock {
  const spec = env.TEST_ONLY_SPINDLE_CRON_CLOCK;
  if (!spec) return { now: () => Date.now(), checkEveryMs: 1000 };
  const m = /^(.+?)(?:@(\d+(?:\.\d+)?))?$/.exec(spec)!;
  const start = Date.parse(m[1]!);
  const rate = m[2] ? Number(m[2]) : 1;
  if (!Number.isFinite(start) || !(rate > 0)) {
    // test-only knob (no user sets it): a plain Error
    throw new Error(`TEST_ONLY_SPINDLE_CRON_CLOCK='${spec}': expected ISO-TIME[@RATE], e.g. 2026-03-02T10:19:50Z@30`);
  }
  let t0 = -1; // the simulated clock starts at its first reading (when the master starts crons)
  return { now: () => { if (t0 < 0) t0 = Date.now(); return start + (Date.now() - t0) * rate; }, checkEveryMs: Math.max(20, Math.min(1000, 3000 / rate)), test: spec };
}
