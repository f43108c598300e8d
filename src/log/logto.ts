// logto: the log lines go to a file, appended, instead of stdout. Threads share the process's
// descriptors, so the master opens the file once and every worker and mule writes its lines to the
// same descriptor (each line one write(2), as on stdout).
import { openSync, writeSync } from 'node:fs';
import { SpindleError } from '../errors.js';

export function openLogFile(path: string): number {
  try {
    return openSync(path, 'a', 0o640);
  } catch (err) {
    throw new SpindleError('CONFIG_INVALID_VALUE', `logto = ${path}: cannot open the log file for appending: ${(err as Error).message}; create its directory or give a writable path`);
  }
}

/**
 * The app's console output follows the log lines into the file, as under uWSGI's logto. Node has
 * no dup2(), so the main thread's stdout and stderr streams (which also carry the worker threads'
 * console output) write to the descriptor instead.
 */
export function redirectConsole(fd: number): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.write = ((chunk: string | Uint8Array, encoding?: unknown, cb?: unknown) => {
      if (typeof chunk === 'string') writeSync(fd, chunk);
      else writeSync(fd, chunk);
      const done = typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') process.nextTick(done as () => void);
      return true;
    }) as typeof stream.write;
  }
}
