// Programmatic embedding: `const server = await start({ app: './app.js', processes: 4 })`.
// The object wins over SPINDLE_* environment variables and ini files named in it (`ini`).
// The server runs in the calling process: no supervising parent (that is the spindle command's,
// src/parent/parent.ts), so `supervise` is ignored here (and says so): the process is the host
// application's, to supervise as it sees fit.
import { loadConfig, type SpindleConfig } from '../config/index.js';
import { SpindleError } from '../errors.js';
import { serverLogger } from './server-log.js';
import { openLogFile } from '../log/logto.js';
import { SpindleServer } from './server.js';
import type { ServerStats } from './stats-views.js';
import type { ScaleResult } from './scaler.js';
import { settingsFromConfig } from './settings.js';
import { AppLoadFailure } from './worker-handle.js';
import { ProcessRecycler } from './full-reload/recycler.js';

/** Options as in the option table, in camelCase (`httpSocket`) or dashed (`'http-socket'`). */
export type StartOptions = Partial<SpindleConfig> & Record<string, unknown>;

export interface RunningServer {
  /** Bound addresses: 'http://127.0.0.1:8000', 'unix:/path'. */
  readonly addresses: string[];
  stats(): ServerStats;
  /**
   * Chain reload; resolves false when the new code does not load (the old workers keep serving).
   * `{ full: true }` (a new process taking over the sockets, as `spindle reload --full`) is refused
   * with SERVER_STATE: it would replace the process that embeds the server, with its own state.
   */
  reload(opts?: { full?: boolean }): Promise<boolean>;
  /**
   * Adaptive scaling by hand (needs cheaper > 0): +N starts up to N workers in the lowest cheap
   * slots, −N gracefully stops up to N idle workers, never below cheaper nor above processes.
   * Stops that find every worker busy are retried at the next checks (`owed`).
   */
  scale(delta: number): ScaleResult;
  /** Graceful by default: in-flight requests finish (within worker-reload-mercy). */
  close(opts?: { graceful?: boolean }): Promise<void>;
}

export async function start(options: StartOptions = {}): Promise<RunningServer> {
  const loaded = loadConfig({ env: process.env, overrides: options });
  const settings = settingsFromConfig(loaded);
  if (!settings.appPath) throw new SpindleError('APP_LOAD', 'start(): no application given; pass { app: "path/to/app.js" }');
  if (settings.appNotFound && settings.needApp) throw new SpindleError('APP_LOAD', `start(): ${settings.appNotFound}`);
  if (settings.muleNotFound) throw new SpindleError('APP_LOAD', `start(): ${settings.muleNotFound}`);
  // logto: Spindle's lines go to the file; the host's own stdout is left alone
  const logFd = settings.logto ? openLogFile(settings.logto) : undefined;
  const { log, logFormat } = serverLogger(settings, loaded, logFd);
  if (loaded.origins['supervise']?.kind !== 'default') log.info({ event: 'SUPERVISE_IGNORED', option: 'supervise' }, 'supervise is for the spindle command: an embedded server runs in this process and has no supervising parent (ignored)');
  const server = new SpindleServer({ settings, log, logFormat, logFd });
  try {
    await server.start();
  } catch (err) {
    if (err instanceof AppLoadFailure) {
      throw new SpindleError('APP_LOAD', `the app could not be loaded: ${err.detail}`, { cause: err });
    }
    throw err;
  }
  const recycler = new ProcessRecycler(server, log, { embedded: true }); // touch-chain-reload only
  recycler.start();
  return {
    get addresses() { return server.addresses; },
    stats: () => server.stats(),
    reload: async (opts = {}) => {
      if (opts.full) {
        throw new SpindleError('SERVER_STATE', 'reload({ full: true }) replaces the whole process, which an embedded server must not do to its host; use reload() (a chain reload of the workers), or run the spindle command, whose full reload is SIGUSR2 / spindle reload --full');
      }
      return server.reload();
    },
    scale: (delta) => server.scale(delta),
    close: (opts = {}) => server.close({ graceful: opts.graceful ?? true }),
  };
}
