// `spindle reload` and `spindle stop`: signal a running server found through its pidfile, as
// uWSGI's --reload/--stop do. The pidfile comes from --pidfile or from the configuration
// (--ini, SPINDLE_PIDFILE), so `spindle reload --ini app.ini` finds the server that ini started.
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config/index.js';
import { EXIT } from '../errors.js';
import { takeFlags, type CliIO } from './io.js';
import { stalePidfile } from '../master/pidfile.js';
import { settingsFromConfig } from '../master/settings.js';

const USAGE = {
  reload: `usage: spindle reload [--full] (--pidfile FILE | --ini FILE)
Replaces every worker of the running server whose pid is in FILE, one at a time, without dropping a
request (SIGHUP, as uWSGI's --reload). --full: a new process loads the code and takes over the
listening sockets, then the old one drains and exits (SIGUSR2).
`,
  stop: `usage: spindle stop [--quick] (--pidfile FILE | --ini FILE)
Stops the running server whose pid is in FILE: in-flight requests finish within
worker-reload-mercy (SIGTERM). --quick: at once (SIGINT).
`,
};

export async function signalServer(argv: string[], io: CliIO, what: 'reload' | 'stop'): Promise<number> {
  const { rest, found } = takeFlags(argv, ['--quick', '--full', '--help', '-h']);
  if (found.has('--help') || found.has('-h')) {
    io.out(USAGE[what]);
    return EXIT.OK;
  }
  if (found.has('--full') && what !== 'reload') {
    io.err(`spindle ${what}: --full only applies to reload\n`);
    return EXIT.CONFIG;
  }
  let pidfile: string | undefined;
  let masterName: string;
  try {
    const loaded = loadConfig({ argv: rest, env: process.env });
    pidfile = loaded.config.pidfile;
    masterName = settingsFromConfig(loaded).names.master;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`spindle ${what}: ${err.message}\n`);
    return EXIT.CONFIG;
  }
  if (!pidfile) {
    io.err(`spindle ${what}: no pidfile: give --pidfile FILE (or --ini FILE naming one); the server must run with a pidfile\n`);
    return EXIT.CONFIG;
  }
  let pid: number;
  try {
    pid = Number(readFileSync(pidfile, 'utf8').trim());
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    // (vacuum removes the pidfile when the server stops: usually it is simply not running)
    io.err(missing
      ? `spindle ${what}: ${pidfile} does not exist: the server is not running (it removes its pidfile when it stops), or it was started with another pidfile\n`
      : `spindle ${what}: cannot read ${pidfile}: ${(err as Error).message}\n`);
    return EXIT.CONFIG;
  }
  if (!Number.isInteger(pid) || pid <= 1) {
    io.err(`spindle ${what}: ${pidfile} does not hold a process id\n`);
    return EXIT.CONFIG;
  }
  const stale = stalePidfile(pid, pidfile, masterName);
  if (stale) {
    io.err(`spindle ${what}: ${stale}\n`);
    return EXIT.CONFIG;
  }
  // reload: SIGHUP = chain reload of the workers (uWSGI); --full: SIGUSR2 = a new process takes
  // over the sockets (nginx's binary upgrade). stop: SIGTERM graceful, --quick SIGINT.
  const signal = what === 'reload' ? (found.has('--full') ? 'SIGUSR2' : 'SIGHUP') : found.has('--quick') ? 'SIGINT' : 'SIGTERM';
  try {
    process.kill(pid, signal);
  } catch (err) {
    io.err(`spindle ${what}: cannot signal process ${pid} from ${pidfile}: ${(err as Error).message}\n`);
    return EXIT.CONFIG;
  }
  io.out(`spindle ${what}: sent ${signal} to ${pid}\n`);
  return EXIT.OK;
}
