// The configuration loader: defaults < ini files < SPINDLE_* environment < command-line flags <
// the programmatic overrides object. Everything is driven by the option table (options.ts).
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseArgv } from './argv.js';
import { ConfigError, type ConfigProblem, type ConfigWarning, type Origin } from './errors.js';
import { parseIni } from './ini.js';
import {
  OPTION_LIST, allNames, camelCase, findOption, normalizeName,
  type OptionSpec, type ParsedConfig, type SpindleConfig,
} from './options.js';
import { RULES, type RuleContext } from './rules.js';
import { suggest } from './suggest.js';
import { uwsgiAnswer } from './uwsgi-vocabulary.js';
import { ValueError, convertValue, formatValue } from './values.js';

export { ConfigError, type ConfigProblem, type ConfigWarning } from './errors.js';
export { parseAddress } from './address.js';
export { OPTION_LIST, SECTIONS, findOption, camelCase, type SpindleConfig } from './options.js';

export interface LoadedConfig {
  config: SpindleConfig;
  /** what the options' parse hooks made of their values (cron schedules, cache specs, owners) */
  parsed: ParsedConfig;
  /** keyed like `config` (camelCase); the origin of the value in effect */
  origins: Record<string, Origin>;
  warnings: ConfigWarning[];
  notes: string[];
}

export interface LoadInput {
  /** command-line arguments after the command (flags and the positional APP); default [] */
  argv?: string[];
  /** environment to read SPINDLE_* variables from (and $(VAR) in ini files); default process.env */
  env?: Record<string, string | undefined>;
  /** the start() object: camelCase or dashed names, typed values or strings */
  overrides?: Record<string, unknown>;
  /** directory relative ini paths are resolved against; default process.cwd() */
  cwd?: string;
}

export interface InspectOptions {
  /** false: do not refuse 'not-yet' options (for tests of parsing); default true */
  enforceStatus?: boolean;
}

export interface InspectResult extends LoadedConfig {
  problems: ConfigProblem[];
}

const LAYERS = { ini: 0, env: 1, flag: 2, api: 3 } as const;
type Layer = (typeof LAYERS)[keyof typeof LAYERS];

interface RawEntry {
  spec: OptionSpec | undefined;
  /** the key as written (ini key, flag name, env suffix, api key) */
  key: string;
  value: unknown;
  origin: Origin;
  layer: Layer;
  bare?: boolean;
}

const ENV_PREFIX = 'SPINDLE_';

export function envName(option: string): string {
  return ENV_PREFIX + option.toUpperCase().replace(/-/g, '_');
}

let displayCwd = process.cwd();

/** 'guide.ini:14', 'env SPINDLE_HARAKIRI', 'flag --harakiri', 'argument APP', 'start() option harakiri', 'default' */
export function formatOrigin(o: Origin | undefined, cwd = displayCwd): string {
  if (!o) return 'unknown';
  switch (o.kind) {
    case 'default': return 'default';
    case 'ini': {
      const f = o.file ?? '?';
      const rel = isAbsolute(f) ? relative(cwd, f) : f;
      const shown = rel === '' || rel.startsWith('..') ? f : rel;
      return o.line ? `${shown}:${o.line}` : shown;
    }
    case 'env': return `env ${o.name}`;
    case 'flag': return o.name === 'APP' ? 'argument APP' : `flag ${o.name}`;
    case 'api': return `start() option ${o.name}`;
  }
}

/** Display a name in the style of the source it was typed in. */
function styleName(name: string, origin: Origin): string {
  switch (origin.kind) {
    case 'env': return envName(name);
    case 'flag': return name.length === 1 ? `-${name}` : `--${name}`;
    case 'api': return origin.name && /[A-Z]/.test(origin.name) ? camelCase(name) : name;
    default: return name;
  }
}

function suggestionText(key: string, origin: Origin): string {
  const norm = normalizeName(key);
  const shown = suggest(norm, allNames()).map((n) => {
    const spec = findOption(n)!;
    const s = styleName(n, origin);
    return spec.name === n ? s : `${s} (alias of ${styleName(spec.name, origin)})`;
  });
  if (origin.kind === 'flag' && norm.startsWith('no-')) {
    const bools = allNames().filter((n) => findOption(n)!.type === 'bool' && n.length > 1);
    shown.unshift(...suggest(norm.slice(3), bools).map((n) => `--no-${n}`));
  }
  if (shown.length === 0) return '';
  return `; did you mean ${shown.length === 1 ? shown[0] : `${shown.slice(0, -1).join(', ')} or ${shown.at(-1)}`}?`;
}

function unknownMessage(e: RawEntry): string {
  const where = formatOrigin(e.origin);
  switch (e.origin.kind) {
    case 'flag': return `unknown flag ${e.origin.name}${suggestionText(e.key, e.origin)}`;
    case 'env': return `unknown environment variable ${e.origin.name}${suggestionText(e.key, e.origin)}`;
    case 'api': return `${where}: unknown option '${e.key}'${suggestionText(e.key, e.origin)}`;
    default: return `${where}: unknown option '${e.key}'${suggestionText(e.key, e.origin)}`;
  }
}

function describeValue(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : JSON.stringify(v);
}

function defaultValue(spec: OptionSpec): unknown {
  if (spec.repeat) return [];
  return spec.default;
}

/** Resolve every source and report everything; never throws (except for programming errors). */
export function inspectConfig(input: LoadInput = {}, opts: InspectOptions = {}): InspectResult {
  const cwd = input.cwd ?? process.cwd();
  displayCwd = cwd;
  const env = input.env ?? process.env;
  const enforceStatus = opts.enforceStatus ?? true;
  const problems: ConfigProblem[] = [];
  const warnings: ConfigWarning[] = [];
  const notes: string[] = [];
  const raw: RawEntry[] = [];

  // ── flags ──
  const args = parseArgv(input.argv ?? []);
  for (const p of args.problems) {
    problems.push({ code: 'CONFIG_INVALID_VALUE', origin: { kind: 'flag', name: p.flag }, message: `flag ${p.flag}: ${p.message}` });
  }
  for (const f of args.entries) {
    raw.push({ spec: f.spec ?? findOption(f.key), key: f.key, value: f.value, origin: { kind: 'flag', name: f.flag }, layer: LAYERS.flag });
  }
  if (args.positionals.length > 0) {
    raw.push({ spec: findOption('app'), key: 'app', value: args.positionals[0], origin: { kind: 'flag', name: 'APP' }, layer: LAYERS.flag });
  }
  for (const extra of args.positionals.slice(1)) {
    problems.push({ code: 'CONFIG_INVALID_VALUE', origin: { kind: 'flag', name: extra },
      message: `unexpected argument '${extra}': only one APP can be given` });
  }

  // ── environment ──
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const key = name.slice(ENV_PREFIX.length).toLowerCase().replace(/_/g, '-');
    const spec = findOption(key);
    const origin: Origin = { kind: 'env', name };
    // a repeatable option takes one item per line of the variable
    const items = spec?.repeat ? value.split(/\r?\n/).filter((s) => s.trim() !== '') : [value];
    for (const item of items) raw.push({ spec, key, value: item, origin, layer: LAYERS.env });
  }

  // ── programmatic overrides ──
  for (const [key, value] of Object.entries(input.overrides ?? {})) {
    if (value === undefined) continue;
    const spec = findOption(key);
    const origin: Origin = { kind: 'api', name: key };
    if (Array.isArray(value)) {
      if (spec && !spec.repeat) {
        problems.push({ code: 'CONFIG_INVALID_VALUE', option: spec.name, origin,
          message: `${formatOrigin(origin)}: ${spec.name} takes one value, got an array ${JSON.stringify(value)}` });
        continue;
      }
      for (const item of value) raw.push({ spec, key, value: item, origin, layer: LAYERS.api });
      if (value.length === 0 && spec) raw.push({ spec, key, value: EMPTY_LIST, origin, layer: LAYERS.api });
    } else {
      raw.push({ spec, key, value, origin, layer: LAYERS.api });
    }
  }

  // ── ini files: the `ini` option from the highest of env / flags / api names the files ──
  const iniSpec = findOption('ini')!;
  const namedIni = winners(raw.filter((e) => e.spec === iniSpec));
  const loadedFiles: string[] = [];
  const iniEntries: RawEntry[] = [];
  const loadFile = (path: string, base: string, namedBy: Origin, stack: string[]) => {
    const abs = resolve(base, path);
    if (stack.includes(abs)) {
      problems.push({ code: 'CONFIG_FILE', option: 'ini', origin: namedBy,
        message: `${formatOrigin(namedBy)}: ini file ${path} includes itself (${[...stack, abs].map((f) => relative(cwd, f) || f).join(' -> ')})` });
      return;
    }
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      problems.push({ code: 'CONFIG_FILE', option: 'ini', origin: namedBy,
        message: `${formatOrigin(namedBy)}: cannot read ini file ${path}: ${why}` });
      return;
    }
    loadedFiles.push(abs);
    const parsed = parseIni(text, abs, env);
    notes.push(...parsed.notes.map((n) => n.replace(abs, formatOrigin({ kind: 'ini', file: abs }))));
    for (const p of parsed.problems) {
      const origin: Origin = { kind: 'ini', file: abs, line: p.line };
      problems.push({ code: 'CONFIG_FILE', origin, message: `${formatOrigin(origin)}: ${p.message}` });
    }
    const seen = new Map<OptionSpec, RawEntry>();
    for (const ent of parsed.entries) {
      const spec = findOption(ent.key);
      const origin: Origin = { kind: 'ini', file: abs, line: ent.line };
      if (spec === iniSpec) {
        loadFile(ent.value, dirname(abs), origin, [...stack, abs]);
        continue;
      }
      const entry: RawEntry = { spec, key: ent.key, value: ent.value, origin, layer: LAYERS.ini, bare: ent.bare };
      if (spec && !spec.repeat) {
        const prev = seen.get(spec);
        if (prev) {
          problems.push({ code: 'CONFIG_CONFLICT', option: spec.name, origin,
            message: `${formatOrigin(origin)}: ${spec.name} is already set at line ${prev.origin.line} of the same file and is not repeatable; keep one of the two lines` });
        }
        seen.set(spec, entry);
      }
      iniEntries.push(entry);
    }
  };
  for (const e of namedIni) {
    if (typeof e.value !== 'string' || e.value.trim() === '') {
      problems.push({ code: 'CONFIG_INVALID_VALUE', option: 'ini', origin: e.origin,
        message: `${formatOrigin(e.origin)}: ini expects a file path, got ${describeValue(e.value)}` });
      continue;
    }
    loadFile(e.value, cwd, e.origin, []);
  }
  raw.unshift(...iniEntries);

  // ── strict first: it decides whether unknown names are errors, wherever it is set ──
  const strictSpec = findOption('strict')!;
  let strict = true;
  const strictWin = winners(raw.filter((e) => e.spec === strictSpec)).at(-1);
  if (strictWin) {
    try { strict = convertValue(strictSpec, strictWin.value) as boolean; } catch { /* reported below */ }
  }

  for (const e of raw) {
    if (e.spec) continue;
    // a uWSGI option Spindle does not implement: say what it means here, never "unknown"
    const name = uwsgiAnswer(e.key) ? e.key : normalizeName(e.key); // start_response-nodelay keeps its '_'
    const uwsgi = uwsgiAnswer(name);
    if (uwsgi?.verdict === 'not-needed') {
      notes.push(`${name} (${formatOrigin(e.origin)}): not needed on Node: ${uwsgi.answer}`);
      continue;
    }
    if (uwsgi?.verdict === 'not-supported') {
      problems.push({ code: 'CONFIG_NOT_SUPPORTED', option: name, origin: e.origin,
        message: `${formatOrigin(e.origin)}: ${name} is a uWSGI option Spindle does not support: ${uwsgi.answer}; remove the ${REMOVE[e.origin.kind]}` });
      continue;
    }
    const msg = unknownMessage(e);
    if (strict) problems.push({ code: 'CONFIG_UNKNOWN_OPTION', origin: e.origin, message: msg });
    else warnings.push({ code: 'CONFIG_UNKNOWN_IGNORED', message: `${msg} (ignored because strict = false)` });
  }

  // ── resolve every option ──
  const config: Record<string, unknown> = {};
  const parsed: Record<string, unknown> = {};
  const origins: Record<string, Origin> = {};
  const explicit = new Set<string>();
  for (const spec of OPTION_LIST) {
    const key = camelCase(spec.name);
    config[key] = defaultValue(spec);
    if (spec.parse) parsed[key] = spec.repeat ? [] : undefined;
    origins[key] = { kind: 'default' };
    if (spec === iniSpec) {
      if (namedIni.length) {
        config[key] = loadedFiles;
        origins[key] = namedIni.at(-1)!.origin;
        explicit.add(spec.name);
      }
      continue;
    }
    const win = winners(raw.filter((e) => e.spec === spec));
    if (win.length === 0) continue;
    explicit.add(spec.name);
    const used = spec.repeat ? win : [win.at(-1)!];
    const values: unknown[] = [];
    const results: unknown[] = [];
    let ok = true;
    for (const e of used) {
      if (e.value === EMPTY_LIST) continue;
      const typed = e.origin.kind === 'flag' || e.origin.kind === 'env' ? e.origin.name! : e.key;
      const name = normalizeName(e.key) === spec.name || e.key === camelCase(spec.name)
        ? typed : `${typed} (alias of ${spec.name})`;
      if (e.bare && spec.type !== 'bool') {
        problems.push({ code: 'CONFIG_INVALID_VALUE', option: spec.name, origin: e.origin,
          message: `${formatOrigin(e.origin)}: ${spec.name} needs a value (${spec.name} = ...)` });
        ok = false;
        continue;
      }
      try {
        const v = convertValue(spec, e.value);
        const err = spec.check?.(v) ?? (spec.parse ? parseInto(results, spec.parse, v) : undefined);
        if (err) {
          problems.push({ code: 'CONFIG_INVALID_VALUE', option: spec.name, origin: e.origin,
            message: `${formatOrigin(e.origin)}: invalid ${name} ${describeValue(e.value)}: ${err}` });
          ok = false;
        }
        values.push(v);
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        problems.push({ code: 'CONFIG_INVALID_VALUE', option: spec.name, origin: e.origin,
          message: `${formatOrigin(e.origin)}: invalid value ${describeValue(e.value)} for ${name}: ${err.message}` });
        ok = false;
      }
    }
    origins[key] = used.at(-1)!.origin;
    if (!ok) continue;
    config[key] = spec.repeat ? values : values[0];
    if (spec.parse) parsed[key] = spec.repeat ? results : results[0];
  }

  // ── status: python-only notes, not-yet refusals ──
  for (const spec of OPTION_LIST) {
    if (!explicit.has(spec.name)) continue;
    const key = camelCase(spec.name);
    const origin = origins[key]!;
    if (spec.status === 'python-only') {
      notes.push(`${spec.name} (${formatOrigin(origin)}): not needed on Node: ${spec.reason ?? 'Python-only option'}`);
    } else if (spec.status === 'not-yet' && enforceStatus && !isDeepStrictEqual(config[key], defaultValue(spec))) {
      const dflt = defaultValue(spec);
      problems.push({ code: 'CONFIG_NOT_SUPPORTED', option: spec.name, origin,
        message: `${formatOrigin(origin)}: ${spec.name} is not supported yet (set to ${formatValue(spec, config[key])}); remove it${dflt === undefined || (Array.isArray(dflt) && dflt.length === 0) ? '' : ` or set it to its default ${formatValue(spec, dflt)}`}` });
    }
  }

  // defaults that follow another option (cheaper-initial = cheaper; reload-on-rss below worker-heap-limit)
  for (const spec of OPTION_LIST) {
    if (!spec.derive || explicit.has(spec.name)) continue;
    const v = spec.derive.value(config);
    if (v === undefined || isDeepStrictEqual(v, defaultValue(spec))) continue;
    config[camelCase(spec.name)] = v;
    origins[camelCase(spec.name)] = { kind: 'default', name: spec.derive.from };
  }

  checkRules(config as SpindleConfig, origins, explicit, problems, warnings);

  return { config: config as SpindleConfig, parsed: parsed as ParsedConfig, origins, warnings, notes, problems };
}

/** Runs an option's parse hook, keeping its result; returns the error text it threw. */
function parseInto(results: unknown[], parse: (value: unknown) => unknown, value: unknown): string | undefined {
  try {
    results.push(parse(value));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const EMPTY_LIST = Symbol('empty list');

/** What the user removes to drop a setting, by where it came from. */
const REMOVE: Record<Origin['kind'], string> = { ini: 'line', env: 'variable', flag: 'flag', api: 'option', default: 'setting' };

/** The entries of the highest layer present (later layers win; within a layer, order is kept). */
function winners(entries: RawEntry[]): RawEntry[] {
  if (entries.length === 0) return [];
  const top = Math.max(...entries.map((e) => e.layer));
  return entries.filter((e) => e.layer === top);
}

/** The table's cross-option rules (RULES in rules.ts), run over the resolved configuration. */
function checkRules(c: SpindleConfig, origins: Record<string, Origin>, explicit: Set<string>,
  problems: ConfigProblem[], warnings: ConfigWarning[]): void {
  const ctx: RuleContext = {
    at: (key) => {
      const o = origins[key];
      return o && o.kind !== 'default' ? ` (${formatOrigin(o)})` : ' (default)';
    },
    where: (key) => formatOrigin(origins[key]),
    explicit: (name) => explicit.has(name),
  };
  for (const rule of RULES) {
    const found = rule.check(c, ctx);
    if (found === undefined) continue;
    const findings = typeof found === 'string' ? [{ option: rule.options[0]!, message: found }] : found;
    for (const { option, message } of findings) {
      if (rule.severity === 'error') problems.push({ code: rule.code, option, origin: origins[camelCase(option)], message });
      else warnings.push({ code: rule.code, option, message });
    }
  }
}

/** Load and validate the configuration; throws ConfigError listing every problem. */
export function loadConfig(input: LoadInput = {}): LoadedConfig {
  const r = inspectConfig(input);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return { config: r.config, parsed: r.parsed, origins: r.origins, warnings: r.warnings, notes: r.notes };
}
