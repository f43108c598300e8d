// Command crons from the config (uWSGI `cron`, `cron2`, `unique-cron`): the master runs the
// command with /bin/sh in its own process group once per matching minute, logs every output line
// and the exit status, skips a unique entry while its previous run is alive, and kills the whole
// group with SIGKILL after cron-harakiri seconds (per entry `harakiri=N` in cron2; 0 = never).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import type { Log } from '../log/logger.js';
import { matches, type CommandCron } from '../config/cron.js';
import { isoMinute } from './timers.js';

interface Entry { cron: CommandCron; lastMinute: number; running: Set<ChildProcess> }

export class CommandCrons {
  private readonly entries: Entry[];
  private closed = false;

  constructor(crons: CommandCron[], private readonly harakiriMs: number, private readonly log: Log) {
    this.entries = crons.map((cron) => ({ cron, lastMinute: -1, running: new Set() }));
  }

  get size(): number {
    return this.entries.length;
  }

  check(now: number): void {
    if (this.closed) return;
    const minute = Math.floor(now / 60_000);
    const date = new Date(minute * 60_000);
    for (const e of this.entries) {
      if (e.lastMinute === minute || !matches(e.cron.schedule, date)) continue;
      e.lastMinute = minute;
      if (e.cron.unique && e.running.size > 0) {
        this.log.warn({ event: 'CRON_SKIPPED', cron: e.cron.command, at: isoMinute(date) }, 'cron command skipped: its previous run is still alive (unique)');
        continue;
      }
      this.run(e, isoMinute(date));
    }
  }

  private run(e: Entry, at: string): void {
    const { command } = e.cron;
    const started = performance.now();
    const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid;
    e.running.add(child);
    this.log.info({ event: 'CRON_STARTED', cron: command, pid, at }, 'cron command started');
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream]! }).on('line', (line) => {
        this.log.info({ event: 'CRON_OUTPUT', cron: command, pid, stream, line }, 'cron output');
      });
    }
    const limit = e.cron.harakiri !== undefined ? e.cron.harakiri * 1000 : this.harakiriMs;
    let killed = false;
    const timer = limit > 0 ? setTimeout(() => {
      killed = true;
      this.log.error({ event: 'CRON_HARAKIRI', cron: command, pid, limitMs: limit }, 'cron command ran past cron-harakiri: killing its process group');
      killGroup(child);
    }, limit) : undefined;
    child.on('error', (err) => this.log.error({ event: 'CRON_START_FAILED', cron: command, err }, 'cron command could not start'));
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      e.running.delete(child);
      const fields = { cron: command, pid, code, signal, ms: Math.round(performance.now() - started), ...(killed ? { harakiri: true } : {}) };
      if (code === 0) this.log.info({ event: 'CRON_EXITED', ...fields }, 'cron command exited');
      else this.log.warn({ event: 'CRON_FAILED', ...fields }, 'cron command failed');
    });
  }

  /** Shutdown: no new runs; running commands are killed (logged). */
  close(): void {
    this.closed = true;
    for (const e of this.entries) {
      for (const child of e.running) {
        this.log.warn({ event: 'CRON_KILLED_AT_STOP', cron: e.cron.command, pid: child.pid }, 'server stopping: killing a running cron command');
        killGroup(child);
      }
    }
  }
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}
