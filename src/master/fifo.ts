// uWSGI's master FIFO (`master-fifo PATH`, core/fifo.c): a named pipe the master reads one byte
// at a time, each byte a command. Spindle implements the ones that mean something here:
//   +  one more worker (cheaper; up to processes)      -  one worker fewer (cheaper; down to cheaper)
//   r  chain reload (every worker replaced in turn)    c  chain reload (same as r: Spindle's only reload)
//   q  graceful shutdown                               Q  quick shutdown
// Whitespace (the newline of `echo +`) is skipped; any other byte is logged and ignored. Several
// commands may be written at once (`echo ++ > fifo`).
//
// The FIFO is created with mode 0600 (a stale FIFO at the path is replaced; any other kind of
// file is an error) and opened read-write and non-blocking, so the master never blocks on it and
// never sees end-of-file when a writer closes (uWSGI re-creates the FIFO on EOF instead).
import { execFileSync } from 'node:child_process';
import { constants, lstatSync, openSync, unlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { SpindleError } from '../errors.js';
import type { Log } from '../log/logger.js';

export interface FifoTarget {
  /** Cheaper delta; undefined result when scaling is off (the caller logs why). */
  scaleFromFifo(delta: number): void;
  reload(): Promise<boolean>;
  close(opts: { graceful: boolean }): Promise<void>;
}

export class MasterFifo {
  private readonly socket: Socket;
  private readonly ino: number;
  private closed = false;

  private constructor(readonly path: string, private readonly target: FifoTarget, private readonly log: Log) {
    let st;
    try { st = lstatSync(path); } catch { st = null; }
    if (st && !st.isFIFO()) {
      throw new SpindleError('CONFIG_INVALID_VALUE', `master-fifo ${path} exists and is not a FIFO; remove it or choose another path`);
    }
    if (st) unlinkSync(path);
    try {
      execFileSync('mkfifo', ['-m', '600', path], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
      throw new SpindleError('CONFIG_INVALID_VALUE', `cannot create master-fifo ${path}: ${why}`, { cause: err });
    }
    this.ino = lstatSync(path).ino;
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    this.socket = new Socket({ fd, readable: true, writable: false });
    this.socket.unref();
    this.socket.on('data', (chunk: Buffer) => { for (const byte of chunk) this.command(String.fromCharCode(byte)); });
    this.socket.on('error', (err) => this.log.error({ event: 'FIFO_ERROR', path, err }, 'master-fifo read error'));
  }

  static open(path: string, target: FifoTarget, log: Log): MasterFifo {
    const fifo = new MasterFifo(path, target, log);
    log.info({ event: 'FIFO_READY', path }, 'master-fifo ready (+ - r c q Q)');
    return fifo;
  }

  private command(c: string): void {
    switch (c) {
      case '+': this.target.scaleFromFifo(1); return;
      case '-': this.target.scaleFromFifo(-1); return;
      case 'r': case 'c':
        this.log.info({ event: 'FIFO_COMMAND', command: c }, 'master-fifo: chain reload requested');
        void this.target.reload();
        return;
      case 'q': case 'Q':
        this.log.info({ event: 'FIFO_COMMAND', command: c }, c === 'q' ? 'master-fifo: graceful shutdown requested' : 'master-fifo: quick shutdown requested');
        void this.target.close({ graceful: c === 'q' });
        return;
      default:
        if (c.trim() === '') return;
        this.log.warn({ event: 'FIFO_UNKNOWN_COMMAND', command: JSON.stringify(c), known: '+ - r c q Q' }, 'master-fifo: unknown command ignored');
    }
  }

  /** Stops reading and removes the FIFO (if it is still ours). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    try {
      if (lstatSync(this.path).ino === this.ino) unlinkSync(this.path);
    } catch { /* already gone */ }
  }
}
