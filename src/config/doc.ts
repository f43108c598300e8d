// Text generated from the option table: `spindle --help` and the README option reference.
import { OPTION_LIST, SECTIONS, type OptionSpec, type SectionId } from './options.js';
import { expectation, formatValue, metavar } from './values.js';
import { envName } from './index.js';
import { UWSGI_VERSION, UWSGI_VOCABULARY } from './uwsgi-vocabulary.js';

function defaultText(spec: OptionSpec): string {
  if (spec.defaultDoc) return spec.defaultDoc;
  if (spec.repeat) return 'none';
  if (spec.default === undefined) return 'unset';
  return formatValue(spec, spec.default);
}

function bySection(): [SectionId, OptionSpec[]][] {
  return (Object.keys(SECTIONS) as SectionId[]).map((id) => [id, OPTION_LIST.filter((o) => o.section === id)]);
}

function flagForms(spec: OptionSpec): string {
  const mv = metavar(spec);
  const names = [spec.name, ...(spec.aliases ?? [])]
    .map((n) => (n.length === 1 ? `-${n}` : spec.type === 'bool' ? `--[no-]${n}` : `--${n}`));
  return names.join(', ') + (mv ? ` ${mv}` : '');
}

const STATUS_TAG: Record<string, string> = { 'not-yet': ' [not supported yet]', 'python-only': ' [accepted, not needed on Node]', supported: '' };

const DEFAULT_USAGE = [
  'spindle [APP] [options]           serve APP (a module exporting a fetch handler or a (req, res) handler)',
  'spindle help                      every sub-command (check, stats, …) and this text',
];

/** `usage`: the lines of the Usage block (the CLI passes one per sub-command). */
export function renderHelp(version: string, usage: readonly string[] = DEFAULT_USAGE): string {
  const out: string[] = [];
  out.push(`spindle ${version} - a uWSGI-style application server for Node.js`);
  out.push('');
  out.push('Usage:');
  for (const line of usage) out.push(`  ${line}`);
  out.push('');
  out.push('Every option below is also an ini key ([spindle] or [uwsgi] section, e.g. `harakiri = 30`), an');
  out.push('environment variable (SPINDLE_HARAKIRI=30) and a start() option (harakiri: 30). Later sources win:');
  out.push('defaults < ini files < environment < flags < start(). Booleans: --vacuum, --no-vacuum, --vacuum=false.');
  for (const [id, opts] of bySection()) {
    if (opts.length === 0) continue;
    out.push('');
    out.push(`${SECTIONS[id]}:`);
    for (const o of opts) {
      const flags = `  ${flagForms(o)}`;
      const tail = `${o.help}${o.repeat ? ' (repeatable)' : ''} [default: ${defaultText(o)}]${STATUS_TAG[o.status]}`;
      out.push(flags.length <= 38 ? flags.padEnd(40) + tail : `${flags}\n${' '.repeat(40)}${tail}`);
    }
  }
  out.push('');
  return out.join('\n');
}

const esc = (s: string) => s.replace(/\|/g, '\\|');

/** The README section between <!-- options:start --> and <!-- options:end --> (markers excluded). */
export function renderOptionsMarkdown(): string {
  const out: string[] = [];
  out.push('<!-- generated from src/config/options.ts by `node scripts/gen-readme.mjs`; do not edit by hand -->');
  out.push('');
  out.push('### Defaults, and why');
  out.push('');
  out.push('| option | Spindle default | uWSGI 2.0 default | the guide\'s value | reason |');
  out.push('|---|---|---|---|---|');
  for (const o of OPTION_LIST) {
    if (!o.why && !o.guide) continue;
    if (o.status === 'python-only') continue;
    const uw = o.uwsgi === false ? '(Spindle only)' : (o.uwsgiDefault ?? 'same');
    out.push(`| \`${o.name}\` | ${esc(defaultText(o))} | ${esc(uw)} | ${esc(o.guide ?? '-')} | ${esc(o.why ?? 'same as uWSGI')} |`);
  }
  out.push('');
  out.push('### Option reference');
  out.push('');
  out.push('Status: **yes** = implemented; **not yet** = known but refused with CONFIG_NOT_SUPPORTED when set to a');
  out.push('non-default value; **python-only** = accepted and reported as not needed on Node.');
  for (const [id, opts] of bySection()) {
    if (opts.length === 0) continue;
    out.push('');
    out.push(`#### ${SECTIONS[id]}`);
    out.push('');
    out.push('| option | aliases | type | default | env | status | description |');
    out.push('|---|---|---|---|---|---|---|');
    for (const o of opts) {
      const aliases = (o.aliases ?? []).map((a) => `\`${a}\``).join(', ') || '';
      const status = o.status === 'supported' ? 'yes' : o.status === 'not-yet' ? 'not yet' : 'python-only';
      const uw = o.uwsgi === false ? ' Spindle-only.' : o.uwsgi ? ` uWSGI: \`${o.uwsgi}\`.` : '';
      const why = o.status === 'python-only' && o.reason ? ` Not needed on Node: ${o.reason}.` : '';
      const type = `${o.type}${o.repeat ? ', repeatable' : ''}`;
      out.push(`| \`${o.name}\` | ${aliases} | ${esc(type)} | ${esc(defaultText(o))} | \`${envName(o.name)}\` | ${status} | ${esc(o.help)}; ${esc(expectation(o))}.${esc(uw)}${esc(why)} |`);
    }
  }
  return out.join('\n');
}

/**
 * The README's migration table: every uWSGI 2.0 option name that is not a Spindle option, by
 * group, with what it means here (from uwsgi-vocabulary.ts).
 */
export function renderVocabularyMarkdown(): string {
  const out: string[] = [];
  out.push('<!-- generated from src/config/uwsgi-vocabulary.ts by `node scripts/gen-readme.mjs`; do not edit by hand -->');
  out.push('');
  out.push(`Every option name of uWSGI ${UWSGI_VERSION} (its core table and every plugin's) has an answer. The ones Spindle`);
  out.push('implements are in the option reference above (under their uWSGI name or as an alias: `module`, `wsgi-file`,');
  out.push('`http-timeout`, `logto2`, `signal-timer`, `pidfile2`, …). Every other name is below: **not needed** names');
  out.push('are accepted with a note (their value is ignored), **not supported** names are refused with');
  out.push('CONFIG_NOT_SUPPORTED and the alternative shown here.');
  out.push('');
  out.push('| uWSGI options | here | why, or what to do instead |');
  out.push('|---|---|---|');
  for (const g of UWSGI_VOCABULARY) {
    const names = g.names.map((n) => `\`${n}\``).join(' ');
    out.push(`| ${names} | ${g.verdict === 'not-needed' ? 'not needed' : 'not supported'} | ${esc(g.answer)} |`);
  }
  return out.join('\n');
}

/** The generated README blocks: markers and their renderers. */
const BLOCKS = [
  { start: '<!-- options:start -->', end: '<!-- options:end -->', render: renderOptionsMarkdown },
  { start: '<!-- uwsgi-vocabulary:start -->', end: '<!-- uwsgi-vocabulary:end -->', render: renderVocabularyMarkdown },
] as const;
export type ReadmeBlock = 'options' | 'uwsgi-vocabulary';
const block = (id: ReadmeBlock) => BLOCKS[id === 'options' ? 0 : 1];

/** Replace (or append) the generated sections of a README text. */
export function updateReadme(readme: string): string {
  let text = readme;
  for (const b of BLOCKS) {
    const body = `${b.start}\n${b.render()}\n${b.end}`;
    const i = text.indexOf(b.start);
    const j = text.indexOf(b.end);
    text = i >= 0 && j > i ? text.slice(0, i) + body + text.slice(j + b.end.length) : `${text.replace(/\s*$/, '')}\n\n${body}\n`;
  }
  return text;
}

/** A generated section currently in a README, or undefined when its markers are missing. */
export function readmeSection(readme: string, id: ReadmeBlock = 'options'): string | undefined {
  const { start, end } = block(id);
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) return undefined;
  return readme.slice(a + start.length, b).replace(/^\n/, '').replace(/\n$/, '');
}
