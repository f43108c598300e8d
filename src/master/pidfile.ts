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
 * Why `pid`, read from `pidfile`, is not the server that wrote it; '' when it may be. A server
 * writes its pidfile after it starts, so a process that started after the pidfile was last
 * written reused the pid of a server that is gone. Without /proc (not Linux) only the
 * existence of the process is checked.
 */
export function stalePidfile(pid: number, pidfile: string): string {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return `no process ${pid} is running: the server is gone and ${pidfile} is stale; remove it`;
  }
  const started = startedAtMs(pid);
  if (started === undefined) return '';
  const written = statSync(pidfile).mtimeMs;
  // btime has whole seconds: allow one second of rounding.
  if (started <= written + 1000) return '';
  return `process ${pid} started at ${new Date(started).toISOString()}, after ${pidfile} was written (${new Date(written).toISOString()}): it is not the server that wrote it (the server is gone and its pid was reused); not signalled. Remove the stale pidfile`;
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
