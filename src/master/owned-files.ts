// The files a server creates and vacuum removes: its pidfile and its UNIX sockets — but only
// while they are still the ones it created (another process may have replaced them since).
import { accessSync, constants, existsSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { SpindleError } from '../errors.js';
import type { Log } from '../log/logger.js';
import { writePidfile } from './pidfile.js';

/** A bound socket; a UNIX one has a file to remove (if its inode is still the one we created). */
export interface OwnedSocket { unixPath?: string; unixIno?: number }

export class OwnedFiles {
  private pidfileWritten = false;

  /** `pid`: the process the pidfile names (the supervising parent, if any, else this one). */
  constructor(private readonly pidfile: string | undefined, private readonly pid: number, private readonly log: Log) {}

  /**
   * Before anything starts: a pidfile that could not be written fails start-up now, with why,
   * rather than once the workers run (an error thrown from there left the process up).
   */
  checkPidfile(): void {
    if (!this.pidfile) return;
    const dir = dirname(this.pidfile);
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      const why = existsSync(dir) ? `this user cannot create files in ${dir}` : `its directory ${dir} does not exist`;
      throw new SpindleError('CONFIG_INVALID_VALUE', `pidfile = ${this.pidfile} cannot be written: ${why}; create the directory or give another path`);
    }
  }

  writePidfile(): void {
    if (!this.pidfile) return;
    let replacedLink: boolean;
    try {
      replacedLink = writePidfile(this.pidfile, this.pid);
    } catch (err) {
      throw new SpindleError('CONFIG_INVALID_VALUE', `pidfile = ${this.pidfile} could not be written: ${(err as Error).message}`, { cause: err });
    }
    if (replacedLink) {
      this.log.warn({ event: 'PIDFILE_SYMLINK_REPLACED', path: this.pidfile }, 'the pidfile path was a symbolic link: replaced by the pidfile, its target left untouched');
    }
    this.pidfileWritten = true;
  }

  /**
   * Removes the UNIX sockets of `listeners` and the pidfile, if still ours. Sockets handed to a
   * new process (full reload) are skipped, and so is the pidfile then: the new process owns it.
   */
  vacuum(listeners: readonly OwnedSocket[], handedOver: ReadonlySet<OwnedSocket> | null): void {
    for (const l of listeners) {
      if (!l.unixPath || handedOver?.has(l)) continue;
      try {
        if (lstatSync(l.unixPath).ino === l.unixIno) unlinkSync(l.unixPath);
        else this.log.warn({ event: 'VACUUM_SKIPPED', path: l.unixPath }, 'vacuum: the socket file was replaced by someone else; left in place');
      } catch { /* already gone (node:net may remove it on close) */ }
    }
    const pid = this.pidfile;
    if (pid && this.pidfileWritten && !handedOver && existsSync(pid)) {
      if (readFileSync(pid, 'utf8').trim() === String(this.pid)) unlinkSync(pid);
      else this.log.warn({ event: 'VACUUM_SKIPPED', path: pid }, 'vacuum: the pidfile names another process; left in place');
    }
  }
}
