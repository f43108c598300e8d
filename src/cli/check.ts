// `spindle check [APP] [--ini FILE] [flags] [--json]`: validate the configuration without starting
// anything and print the effective value and source of every option. Exit 0 when valid, 1 otherwise.
import { resolve } from 'node:path';
import {
  ConfigError, formatOrigin, inspectConfig, OPTION_LIST, SECTIONS, camelCase,
  type ConfigProblem, type ConfigWarning, type InspectResult, type LoadInput,
} from '../config/index.js';
import { resolveAppModule, resolveMuleModule } from '../config/app-module.js';
import { renderHelp } from '../config/doc.js';
import { formatValue } from '../config/values.js';
import { EXIT } from '../errors.js';
import { processIO, takeFlags, type CliIO } from './io.js';
import { spindleVersion } from './version.js';

export async function runCheck(argv: string[], io: CliIO = processIO,
  base: Omit<LoadInput, 'argv'> = { env: process.env }): Promise<number> {
  const { rest, found } = takeFlags(argv, ['--json', '--help', '-h']);
  if (found.has('--help') || found.has('-h')) {
    io.out(renderHelp(spindleVersion()));
    return EXIT.OK;
  }
  const json = found.has('--json');
  const r = inspectConfig({ ...base, argv: rest });
  const warnings = [...r.warnings];
  const notes = [...r.notes];
  if (r.problems.length === 0) checkModules(r, base.cwd ?? process.cwd(), notes, warnings);
  if (r.problems.length > 0) {
    const err = new ConfigError(r.problems);
    if (json) io.out(`${JSON.stringify({ valid: false, problems: r.problems }, null, 2)}\n`);
    io.err(`spindle check: ${err.message}\n`);
    return EXIT.CONFIG;
  }
  if (json) {
    const sources = Object.fromEntries(Object.entries(r.origins).map(([k, o]) => [k, formatOrigin(o)]));
    io.out(`${JSON.stringify({ valid: true, config: r.config, origins: r.origins, sources, warnings, notes }, null, 2)}\n`);
    return EXIT.OK;
  }
  const rows: [string, string, string][] = [];
  const sections: { title: string; rows: [string, string, string][] }[] = [];
  for (const id of Object.keys(SECTIONS) as (keyof typeof SECTIONS)[]) {
    const sec = { title: SECTIONS[id], rows: [] as [string, string, string][] };
    for (const spec of OPTION_LIST.filter((o) => o.section === id)) {
      const key = camelCase(spec.name);
      const origin = r.origins[key];
      const src = origin?.kind === 'default' && origin.name ? `default (follows ${origin.name})` : formatOrigin(origin);
      const status = spec.status === 'not-yet' ? ' (not yet)' : spec.status === 'python-only' ? ' (python-only)' : '';
      const row: [string, string, string] = [spec.name + status, formatValue(spec, (r.config as Record<string, unknown>)[key]), src];
      sec.rows.push(row);
      rows.push(row);
    }
    if (sec.rows.length) sections.push(sec);
  }
  const w0 = Math.max(6, ...rows.map((x) => x[0].length));
  const w1 = Math.min(48, Math.max(5, ...rows.map((x) => x[1].length)));
  const line = (a: string, b: string, c: string) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`.trimEnd();
  const out: string[] = [line('OPTION', 'VALUE', 'SOURCE')];
  for (const s of sections) {
    out.push('', `# ${s.title}`);
    for (const [a, b, c] of s.rows) out.push(line(a, b, c));
  }
  out.push('');
  for (const n of notes) out.push(`note: ${n}`);
  for (const w of warnings) out.push(`warning: ${w.message} [${w.code}]`);
  out.push('configuration is valid');
  io.out(`${out.join('\n')}\n`);
  return EXIT.OK;
}

/**
 * The app and mule modules must exist, as serving would find them (uWSGI's module:callable form
 * translated, see config/app-module.ts): a missing one is a problem, a translation a note.
 */
function checkModules(r: InspectResult, cwd: string, notes: string[], warnings: ConfigWarning[]): void {
  const base = resolve(cwd, r.config.chdir ?? '.');
  const problem = (option: string, message: string) => {
    const origin = r.origins[camelCase(option)];
    const p: ConfigProblem = { code: 'CONFIG_APP_NOT_FOUND', option, origin, message: `${formatOrigin(origin)}: ${message}` };
    r.problems.push(p);
  };
  if (!r.config.app) {
    if (r.config.needApp) warnings.push({ code: 'CONFIG_NO_APP', option: 'app', message: 'no APP is configured: serving would exit with status 22 (need-app); give APP, --app or app =' });
  } else {
    const app = resolveAppModule(r.config.app, base, r.config.callable);
    if (app.error && r.config.needApp) problem('app', app.error);
    else if (app.error) warnings.push({ code: 'CONFIG_NO_APP', option: 'app', message: `${app.error} (need-app = false: Spindle would answer 503 until it appears)` });
    if (app.translation) notes.push(app.translation);
  }
  for (const spec of r.config.mule.filter((m) => m.trim() !== '')) {
    const mule = resolveMuleModule(spec.trim(), base);
    if (mule.error) problem('mule', mule.error);
    else if (mule.translation) notes.push(mule.translation);
  }
}
