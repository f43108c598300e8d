// The `spindle` command line. commander routes the sub-commands; the option flags themselves are
// parsed from the option table (src/config/argv.ts), so every option is a flag with no second list.
//
//   spindle [APP] [options]          serve
//   spindle COMMAND [args]           a sub-command of SUBCOMMANDS below (check, stats, top, …)
//   spindle help [COMMAND] | --help | --version
//
// `spindle --help` lists SUBCOMMANDS (synopsis and description); each handles its own --help.
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
  /** its arguments for the Usage block of --help (default: `[options]`) */
  synopsis?: string;
  /** receives the arguments after the sub-command name (and handles --help); resolves with the exit code */
  run: (argv: string[], io: CliIO) => Promise<number>;
}

/** Sub-commands by name; `spindle --help` lists them in this order. */
export const SUBCOMMANDS: Record<string, Subcommand> = {
  check: { synopsis: '[APP] [options] [--json]', description: 'validate the configuration and print it with the source of every value; exit 0 when valid, 1 otherwise', run: (a, io) => runCheck(a, io) },
  init: { synopsis: '[--force] [--output FILE] [--no-measure]', description: 'write a commented production ini for the app in this directory, sized from the machine and the app\'s measured start-up', run: (a, io) => runInit(a, io) },
  stats: { synopsis: '[ADDR] [--minified]', description: 'print the stats document of a running server once (ADDR, or the stats option of --ini)', run: (a, io) => runStats(a, io) },
  top: { synopsis: '[ADDR]', description: 'live per-worker view of a running server, like uwsgitop (q quits)', run: (a) => runTop(a) },
  reload: { synopsis: '[--full] --pidfile FILE', description: 'replace every worker of a running server, one at a time (SIGHUP); --full: a new process takes over the sockets (SIGUSR2)', run: (a, io) => signalServer(a, io, 'reload') },
  stop: { synopsis: '[--quick] --pidfile FILE', description: 'stop a running server gracefully (SIGTERM; --quick: SIGINT)', run: (a, io) => signalServer(a, io, 'stop') },
};

/** The Usage block of `spindle --help`: serving, then every sub-command. */
function usageLines(): string[] {
  const line = (left: string, right: string) => (left.length <= 32 ? `${left.padEnd(34)}${right}` : `${left}\n${' '.repeat(36)}${right}`);
  return [
    line('spindle [APP] [options]', 'serve APP (a module exporting a fetch handler or a (req, res) handler)'),
    ...Object.entries(SUBCOMMANDS).map(([name, sub]) => line(`spindle ${name} ${sub.synopsis ?? '[options]'}`, sub.description)),
    line('spindle help [COMMAND]', "this text, or COMMAND's own (as spindle COMMAND --help)"),
    'spindle --help | --version',
  ];
}

const fullHelp = (): string => renderHelp(spindleVersion(), usageLines());

/** `spindle help [COMMAND]`: not an app named "help". */
async function help(argv: string[], io: CliIO): Promise<number> {
  const name = argv[0];
  if (name === undefined) {
    io.out(fullHelp());
    return EXIT.OK;
  }
  const sub = SUBCOMMANDS[name];
  if (sub) return sub.run(['--help'], io);
  const near = suggest(name, Object.keys(SUBCOMMANDS));
  io.err(`spindle help: no command '${name}'${near.length > 0 ? ` (did you mean ${near.join(', ')}?)` : ''}; the commands: ${Object.keys(SUBCOMMANDS).join(', ')}\n`);
  return EXIT.CONFIG;
}

async function serve(argv: string[], io: CliIO): Promise<number> {
  const { rest, found } = takeFlags(argv, ['--help', '-h']);
  if (found.size > 0) {
    io.out(fullHelp());
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
  for (const [name, sub] of Object.entries({ ...SUBCOMMANDS, help: { description: 'help', run: help } })) {
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
