// The server as the `spindle` command runs it: start, own the process signals, exit with
// uWSGI-compatible codes (0 stopped, 1 configuration error or an address that cannot be bound,
// 22 no app loaded).
import { EXIT, SpindleError } from '../errors.js';
import { serverLogger } from './server-log.js';
import { openLogFile, redirectConsole } from '../log/logto.js';
import type { ConfigWarning } from '../config/errors.js';
import type { ParsedConfig, SpindleConfig } from '../config/options.js';
import { SpindleServer } from './server.js';
import { settingsFromConfig } from './settings.js';
import { AppLoadFailure } from './worker-handle.js';
import { ListenError } from './listen-failure.js';
import { HandoverClient } from './full-reload/take-over.js';
import { ProcessRecycler } from './full-reload/recycler.js';
import { outgoingSockets } from './full-reload/hand-over.js';
import { ParentLink } from './parent-link.js';

/** What runServer needs of a loaded configuration (structurally a LoadedConfig). */
export interface RunnableConfig {
  config: SpindleConfig;
  parsed: ParsedConfig;
  notes: string[];
  warnings: ConfigWarning[];
}

export async function runServer(loaded: RunnableConfig): Promise<number> {
  const settings = settingsFromConfig(loaded);
  let logFd: number | undefined;
  if (settings.logto) {
    try {
      logFd = openLogFile(settings.logto);
    } catch (err) {
      process.stderr.write(`spindle: ${(err as Error).message}\n`);
      return EXIT.CONFIG;
    }
    redirectConsole(logFd);
  }
  const { log, logFormat } = serverLogger(settings, loaded, logFd);
  if (!settings.appPath) {
    log.fatal({ event: 'NO_APP_GIVEN' }, 'no application given: run `spindle path/to/app.js` (or set app = … in the ini file)');
    return EXIT.APP_LOAD;
  }
  if (settings.appNotFound && settings.needApp) {
    log.fatal({ event: 'APP_NOT_FOUND', reason: 'not-found' }, settings.appNotFound);
    return EXIT.APP_LOAD;
  }
  if (settings.muleNotFound) {
    log.fatal({ event: 'APP_NOT_FOUND', reason: 'not-found', option: 'mule' }, settings.muleNotFound);
    return EXIT.APP_LOAD;
  }

  // Under the supervising parent (src/parent/parent.ts): the pidfile names it, it starts full reloads.
  const parent = ParentLink.fromEnv(log) ?? undefined;
  const handover = HandoverClient.fromEnv(log, Boolean(parent)) ?? undefined;
  const server = new SpindleServer({ settings, log, logFormat, logFd, handover, parent });
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => { stopped = resolve; });
  // Full reload (SIGUSR2 as nginx's binary upgrade, touch-reload, process memory and lifetime).
  const recycler = new ProcessRecycler(server, log, { onRetired: () => stopped(), parent });
  process.on('SIGUSR2', () => { log.info({ event: 'FULL_RELOAD_REQUESTED', signal: 'SIGUSR2' }, 'full reload requested'); void recycler.fullReload('SIGUSR2'); });
  let stopping = false;
  const stop = (graceful: boolean, signal: string) => {
    // A second stop signal during a graceful drain makes it quick (an operator who means it).
    const quick = !graceful || stopping;
    stopping = true;
    log.info({ event: 'SHUTDOWN_REQUESTED', signal }, quick ? 'quick shutdown requested' : 'graceful shutdown requested');
    void server.close({ graceful: !quick }).then(stopped);
  };
  parent?.attach(() => { if (!server.observation().shuttingDown) stop(true, 'parent gone'); });
  const onTerm = () => {
    if (settings.dieOnTerm) stop(true, 'SIGTERM');
    else {
      log.warn({ event: 'SIGTERM_RELOADS', signal: 'SIGTERM' }, 'die-on-term is off: SIGTERM reloads the workers, as uWSGI 2.0 does (not recommended: container runtimes stop services with SIGTERM)');
      void server.reload();
    }
  };
  const onHup = () => { log.info({ event: 'RELOAD_REQUESTED', signal: 'SIGHUP' }, 'reload requested'); void server.reload(); };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', () => stop(false, 'SIGINT'));
  process.on('SIGQUIT', () => stop(false, 'SIGQUIT'));
  process.on('SIGHUP', onHup);
  // uWSGI: SIGUSR1 prints the stats. (A listener also keeps Node from opening the inspector on it.)
  process.on('SIGUSR1', () => { log.info({ event: 'STATS_DUMP', stats: server.statsDocument() }, 'stats'); });

  try {
    await server.start();
  } catch (err) {
    await handover?.failed(err instanceof AppLoadFailure ? `the app could not be loaded: ${err.detail.split('\n', 1)[0]}` : (err as Error).message);
    if (err instanceof AppLoadFailure) {
      const event = err.reason === 'listens' ? 'APP_LISTENS' : 'APP_LOAD';
      log.fatal({ event, reason: err.reason, err: { message: err.detail.split('\n', 1)[0], stack: err.detail } }, 'the app could not be loaded (need-app): exiting with code 22');
      return EXIT.APP_LOAD;
    }
    if (err instanceof ListenError) {
      log.fatal({ event: 'LISTEN_FAILED', address: err.address }, err.message); // one line: no stack to read
      return EXIT.LISTEN;
    }
    log.fatal({ event: 'START_FAILED', err }, err instanceof SpindleError ? err.message : 'could not start');
    return EXIT.CONFIG;
  }
  if (!stopping) {
    // (A stop during start-up: start() returned early and the shutdown is completing.)
    await handover?.serving();
    await parent?.hold(outgoingSockets(server.sharedSocketList));
    recycler.start();
  }
  await done;
  return EXIT.OK;
}
