// touch-reload / touch-chain-reload: act when a file's modification time changes, as uWSGI's
// master does (uwsgi_check_touches): the time is read once at start (a missing file counts as 0,
// so creating it later is a touch) and compared on every check; deleting a file is not a touch.
import { statSync } from 'node:fs';

export class TouchFiles {
  private readonly mtimes = new Map<string, number>();

  constructor(readonly paths: readonly string[]) {
    for (const p of paths) this.mtimes.set(p, mtimeOf(p));
  }

  /** The files touched since the last call (their new times are remembered). */
  touched(): string[] {
    const out: string[] = [];
    for (const [p, before] of this.mtimes) {
      const now = mtimeOf(p);
      if (now === 0 || now === before) continue;
      this.mtimes.set(p, now);
      out.push(p);
    }
    return out;
  }
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
