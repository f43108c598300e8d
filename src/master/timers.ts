// Timers and crons registered by the app (timer(), msTimer(), cron()), and the config's
// `timer = "SIGNUM SECONDS"` lines. Every worker registers the same timers (each imports the app):
// the first registration of a name creates it, identical ones are counted, a different interval,
// schedule or target replaces the old one (logged: a reload with changed code).
import type { Log } from '../log/logger.js';
import { matches, parseSchedule, type CronFields, type CronSchedule } from '../config/cron.js';
import type { CronClock } from './clock.js';
import { newReg, type Reg, type RunDispatcher } from './runs.js';
import type { Target } from '../protocol/background.js';

interface TimerEntry { reg: Reg; ms: number; tick: number; interval: NodeJS.Timeout; registrations: number }
interface CronEntry { reg: Reg; spec: string; schedule: CronSchedule; lastMinute: number; registrations: number }

export class Timers {
  readonly timers = new Map<string, TimerEntry>();
  readonly crons = new Map<string, CronEntry>();
  private readonly intervals: NodeJS.Timeout[] = [];
  private checker?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly log: Log,
    private readonly runs: RunDispatcher,
    private readonly clock: CronClock,
    /** extra per-minute checks (command crons) */
    private readonly onMinuteCheck: (now: number) => void,
  ) {}

  start(): void {
    this.checker = setInterval(() => this.checkCrons(), this.clock.checkEveryMs);
    this.checkCrons();
  }

  registerTimer(name: string, ms: number, target: Target, unique: boolean, from: string): void {
    if (this.stopped) return;
    const old = this.timers.get(name);
    if (old && old.ms === ms && old.reg.target === target && old.reg.unique === unique) {
      old.registrations++;
      this.log.debug({ event: 'TIMER_ALREADY_REGISTERED', timer: name, from, registrations: old.registrations }, 'timer already registered (same timer from another thread)');
      return;
    }
    if (old) {
      clearInterval(old.interval);
      this.log.warn({ event: 'TIMER_REPLACED', timer: name, from, ms, was: old.ms, target, wasTarget: old.reg.target }, 'timer re-registered with a different interval or target: the new one replaces it');
    }
    const reg = old?.reg ?? newReg('timer', name, `timer:${name}`, target, unique);
    reg.target = target;
    reg.unique = unique;
    const entry: TimerEntry = {
      reg, ms, tick: old?.tick ?? 0, registrations: 1,
      interval: setInterval(() => {
        entry.tick++;
        this.log.debug({ event: 'TIMER_FIRED', timer: name, tick: entry.tick }, 'timer fired');
        this.runs.dispatch(reg, { name, tick: entry.tick });
      }, ms),
    };
    this.timers.set(name, entry);
    if (!old) this.log.info({ event: 'TIMER_REGISTERED', timer: name, ms, target, unique, from }, 'timer registered');
  }

  registerCron(name: string, spec: string | CronFields, target: Target, unique: boolean, from: string): void {
    if (this.stopped) return;
    let schedule: CronSchedule;
    try {
      schedule = parseSchedule(spec);
    } catch (err) {
      this.log.error({ event: 'CRON_REFUSED', cron: name, from, err: { message: (err as Error).message } }, 'cron refused: bad schedule');
      return;
    }
    const old = this.crons.get(name);
    if (old && old.spec === schedule.text && old.reg.target === target && old.reg.unique === unique) {
      old.registrations++;
      this.log.debug({ event: 'CRON_ALREADY_REGISTERED', cron: name, from, registrations: old.registrations }, 'cron already registered (same cron from another thread)');
      return;
    }
    if (old) this.log.warn({ event: 'CRON_REPLACED', cron: name, from, spec: schedule.text, was: old.spec }, 'cron re-registered with a different schedule or target: the new one replaces it');
    const reg = old?.reg ?? newReg('cron', name, `cron:${name}`, target, unique);
    reg.target = target;
    reg.unique = unique;
    this.crons.set(name, { reg, spec: schedule.text, schedule, lastMinute: old?.lastMinute ?? -1, registrations: 1 });
    if (!old) this.log.info({ event: 'CRON_REGISTERED', cron: name, spec: schedule.text, target, unique, from }, 'cron registered');
  }

  /** Config `timer = "SIGNUM SECONDS"`: raise the signal every SECONDS. */
  signalTimer(seconds: number, raise: () => void): void {
    this.intervals.push(setInterval(raise, seconds * 1000));
  }

  /** Fires every cron whose schedule matches the current minute, at most once per minute. */
  checkCrons(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const minute = Math.floor(now / 60_000);
    const date = new Date(minute * 60_000);
    for (const [name, c] of this.crons) {
      if (c.lastMinute === minute || !matches(c.schedule, date)) continue;
      c.lastMinute = minute;
      this.log.debug({ event: 'CRON_FIRED', cron: name, at: isoMinute(date) }, 'cron fired');
      this.runs.dispatch(c.reg, { name, tick: minute * 60_000 });
    }
    this.onMinuteCheck(now);
  }

  stop(): void {
    this.stopped = true;
    if (this.checker) clearInterval(this.checker);
    for (const t of this.timers.values()) clearInterval(t.interval);
    for (const i of this.intervals) clearInterval(i);
  }
}

/** Local time as YYYY-MM-DDTHH:MM (what a cron line is matched against). */
export function isoMinute(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
