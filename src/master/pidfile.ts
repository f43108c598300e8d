// The pidfile: written without following a link planted at its path, and checked before a
// control command signals the process it names (the pid may have been reused since).
import { closeSync, constants, lstatSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Writes `pid` to `path` through a new temporary file in the same directory, renamed over it: a
 * symlink at `path` (planted in a world-writable directory) is replaced, its target untouched.
 * Returns true when a symlink was replaced.
 */
export function writePidfile(path: string, pid = process.pid): boolean {
  let wasLink = false;
  try { wasLink = lstatSync(path).isSymbolicLink(); } catch { /* not there yet */ }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // O_EXCL | O_NOFOLLOW: never opens an existing file or a link someone raced into place.
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    writeSync(fd, `${pid}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  return wasLink;
}

/** USER_HZ: the unit of /proc/PID/stat's start time (100 on every mainstream Linux architecture). */
const CLOCK_TICKS = 100;

/**
 * A clock stepped forward after the pidfile was written makes the server look younger than its
 * pidfile by as much: this much is let pass (a pid is rarely reused this soon).
 */
const CLOCK_STEP_LEEWAY_MS = 10 * 60_000;

/**
 * Why `pid`, read from `pidfile`, is not the Spindle master that wrote it; '' when it may be.
 * Its command line must name spindle or `masterName` (the configured process name, which
 * replaces the command line), and it must have started before the pidfile was written (a
 * process started later reused the pid of a server that is gone, even another Spindle).
 * Without /proc (not Linux) only the existence of the process is checked.
 */
export function stalePidfile(pid: number, pidfile: string, masterName = ''): string {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return `no process ${pid} is running: the server is gone and ${pidfile} is stale; remove it`;
  }
  const command = commandLine(pid);
  if (command !== undefined && !/spindle/i.test(command) && !(masterName !== '' && command.includes(masterName))) {
    return `process ${pid} (${command || 'no command line'}) is not a Spindle master: ${pidfile} is stale (the server is gone and its pid was reused), so it was not signalled; remove the stale pidfile. (A master renamed with procname-master is recognised when its configuration is given, e.g. --ini)`;
  }
  const started = startedAtMs(pid);
  if (started === undefined) return '';
  const written = statSync(pidfile).mtimeMs;
  if (started <= written + CLOCK_STEP_LEEWAY_MS) return '';
  return `process ${pid} (${command}) started at ${new Date(started).toISOString()}, after ${pidfile} was written (${new Date(written).toISOString()}): it is not the server that wrote it (the server is gone and its pid was reused), so it was not signalled. Remove the stale pidfile (if the clock was set forward since the server started, signal it yourself)`;
}

/** The process's command line (its title, for a renamed Spindle master); undefined if unreadable. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return undefined;
  }
}

/** When `pid` started (epoch ms), from /proc; undefined when /proc cannot say. */
function startedAtMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime 22.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return undefined;
    return (btime + ticks / CLOCK_TICKS) * 1000;
  } catch {
    return undefined;
  }
}
