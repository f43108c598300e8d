// Command-line flags, driven by the option table (commander routes sub-commands; the option flags
// themselves are parsed here so that every table entry is a flag without a second list).
//
//   --harakiri 30   --harakiri=30   -p 4   -p4   --vacuum   --no-vacuum   --vacuum=false
//   repeatable options: give the flag several times.   --  ends the flags.
// An unknown flag is kept (with the flag as typed) so that the loader can report it with
// suggestions, or only warn under strict=false. Like a known valued flag, it takes the next
// argument as its value unless that starts with '-' (so `--harakri 30` is one mistake, not two).
import { findOption, type OptionSpec } from './options.js';

export interface FlagEntry { key: string; value: string; flag: string; spec?: OptionSpec }
export interface ArgvResult {
  entries: FlagEntry[];
  positionals: string[];
  problems: { flag: string; message: string }[];
  /** meta flags the CLI handles itself */
  help: boolean;
  json: boolean;
}

export function parseArgv(argv: readonly string[], extraBoolFlags: readonly string[] = []): ArgvResult {
  const out: ArgvResult = { entries: [], positionals: [], problems: [], help: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') { out.help = true; continue; }
    if (extraBoolFlags.includes(arg)) { if (arg === '--json') out.json = true; continue; }
    let name: string;
    let inline: string | undefined;
    let typed: string;
    if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      typed = eq < 0 ? arg : arg.slice(0, eq);
      name = typed.slice(2);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
    } else if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) {
      typed = arg.slice(0, 2);
      name = arg[1]!;
      const rest = arg.slice(2);
      inline = rest === '' ? undefined : rest.startsWith('=') ? rest.slice(1) : rest;
    } else {
      out.positionals.push(arg);
      continue;
    }
    let spec = findOption(name);
    // a one-letter name is only a short flag if the table has that one-letter alias
    if (typed.length === 2 && spec && ![...(spec.aliases ?? [])].includes(name)) spec = undefined;
    if (!spec && name.startsWith('no-')) {
      const base = findOption(name.slice(3));
      if (base) {
        if (base.type !== 'bool') {
          out.problems.push({ flag: typed, message: `${base.name} is not a boolean option; give it a value instead (e.g. --${base.name} 0)` });
        } else if (inline !== undefined) {
          out.problems.push({ flag: typed, message: `takes no value (use --${base.name}=${inline})` });
        } else {
          out.entries.push({ key: name.slice(3), value: 'false', flag: typed, spec: base });
        }
        continue;
      }
    }
    if (!spec) {
      let value = inline;
      if (value === undefined && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) value = argv[++i];
      out.entries.push({ key: name, value: value ?? 'true', flag: typed });
      continue;
    }
    if (spec.type === 'bool') {
      out.entries.push({ key: name, value: inline ?? 'true', flag: typed, spec });
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        out.problems.push({ flag: typed, message: `needs a value: ${typed} <value> or ${typed}=<value>` });
        continue;
      }
      value = next;
      i++;
    }
    out.entries.push({ key: name, value, flag: typed, spec });
  }
  return out;
}
