// The `spindle` command line. commander routes the sub-commands; the option flags themselves are
// parsed from the option table (src/config/argv.ts), so every option is a flag with no second list.
//
//   spindle [APP] [options]          serve
//   spindle check [APP] [options]    validate and print the effective configuration
//   spindle --help | --version
//
// Later sub-commands (stats, top, reload, stop) register themselves in SUBCOMMANDS below.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig } from '../config/index.js';
import { renderHelp } from '../config/doc.js';
import { suggest } from '../config/suggest.js';
import { EXIT } from '../errors.js';
import { runCheck } from './check.js';
import { runInit } from './init.js';
import { runStats } from './stats.js';
import { runTop } from './top.js';
import { signalServer } from './control.js';
import { processIO, takeFlags, type CliIO } from './io.js';
import { spindleVersion } from './version.js';
import { SUPERVISED_ENV } from '../protocol/parent.js';

export interface Subcommand {
  description: string;
  /** receives the arguments after the sub-command name; resolves with the exit code */
  run: (argv: string[], io: CliIO) => Promise<number>;
}

/** Sub-commands by name. Add `stats`, `top`, `reload`, `stop` here. */
export const SUBCOMMANDS: Record<string, Subcommand> = {
  check: { description: 'validate the configuration and print it with the source of every value', run: (a, io) => runCheck(a, io) },
  init: { description: 'write a commented production ini for the app in this directory, sized from the machine and the app\'s measured start-up', run: (a, io) => runInit(a, io) },
  stats: { description: 'print the stats document of a running server once (ADDR, or the stats option of --ini)', run: (a, io) => runStats(a, io) },
  top: { description: 'live per-worker view of a running server, like uwsgitop (q quits)', run: (a) => runTop(a) },
  reload: { description: 'replace every worker of a running server, one at a time (SIGHUP via --pidfile); --full: a new process takes over the sockets (SIGUSR2)', run: (a, io) => signalServer(a, io, 'reload') },
  stop: { description: 'stop a running server gracefully (SIGTERM via --pidfile; --quick: SIGINT)', run: (a, io) => signalServer(a, io, 'stop') },
};

async function serve(argv: string[], io: CliIO): Promise<number> {
  const { rest, found } = takeFlags(argv, ['--help', '-h']);
  if (found.size > 0) {
    io.out(renderHelp(spindleVersion()));
    return EXIT.OK;
  }
  let loaded;
  try {
    loaded = loadConfig({ argv: rest, env: process.env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`spindle: ${err.message}\n`);
    return EXIT.CONFIG;
  }
  const app = loaded.config.app;
  if (app && loaded.origins['app']?.name === 'APP' && !existsSync(resolve(loaded.config.chdir ?? '.', app))) {
    const near = suggest(app, Object.keys(SUBCOMMANDS));
    if (near.length > 0) {
      io.err(`spindle: unknown command '${app}' (did you mean ${near.join(', ')}?)\n`);
      return EXIT.CONFIG;
    }
  }
  // The supervising parent loads none of the server: the server runs in its child process, which
  // comes back here with the parent's marker in its environment.
  if (loaded.config.supervise && process.env[SUPERVISED_ENV] === undefined) {
    const { runParent } = await import('../parent/parent.js');
    const c = loaded.config;
    return runParent({ argv, logLevel: c.logLevel ?? 'info', logFormat: c.logFormat ?? 'auto', logto: c.logto, dieOnTerm: c.dieOnTerm ?? true });
  }
  // runServer reports loaded.notes and loaded.warnings once, through the logger
  const { runServer } = await import('../master/run.js');
  return runServer(loaded);
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  let code: number = EXIT.OK;
  const program = new Command('spindle')
    .description('a uWSGI-style application server for Node.js')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .helpOption(false)
    .version(spindleVersion(), '-V, --version')
    .enablePositionalOptions()
    .passThroughOptions()
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (args: string[]) => { code = await serve(args, io); });
  for (const [name, sub] of Object.entries(SUBCOMMANDS)) {
    program
      .command(name)
      .description(sub.description)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .passThroughOptions()
      .argument('[args...]')
      .action(async (args: string[]) => { code = await sub.run(args, io); });
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.code === 'commander.version' ? EXIT.OK : (err.exitCode || EXIT.CONFIG);
    throw err;
  }
  return code;
}
