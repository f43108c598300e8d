#!/usr/bin/env node
// Regenerate README.md's generated sections from their one source of truth: the option reference
// and the uWSGI migration table (src/config/options.ts, src/config/uwsgi-vocabulary.ts), the error
// codes (src/errors.ts) and the log events (src/log/events.ts). Needs the compiled package:
//   npx tsc -p . && node scripts/gen-readme.mjs          (write)
//   node scripts/gen-readme.mjs --check                   (exit 1 when a section is stale)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = (rel) => import(new URL(`../dist/src/${rel}`, import.meta.url).href);
const { updateReadme } = await dist('config/doc.js');
const { updateErrorsSection } = await dist('errors.js');
const { LOG_EVENTS } = await dist('log/events.js');

/** The log events section, between its markers. */
function updateEventsSection(text) {
  const START = '<!-- log-events:start -->';
  const END = '<!-- log-events:end -->';
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from < 0 || to < from) throw new Error(`README.md lacks the ${START} / ${END} markers`);
  const section = [
    START,
    '<!-- generated from src/log/events.ts by `node scripts/gen-readme.mjs`; do not edit by hand -->',
    '',
    '| `event` | the line says |',
    '|---|---|',
    ...Object.entries(LOG_EVENTS).map(([code, when]) => `| \`${code}\` | ${when.replaceAll('|', '\\|')} |`),
    '',
    END,
  ].join('\n');
  return text.slice(0, from) + section + text.slice(to + END.length);
}

const sections = [['option reference and migration table', updateReadme], ['error codes', updateErrorsSection], ['log events', updateEventsSection]];
const path = fileURLToPath(new URL('../README.md', import.meta.url));
const before = readFileSync(path, 'utf8');
let after = before;
const stale = [];
for (const [name, update] of sections) {
  const next = update(after);
  if (next !== after) stale.push(name);
  after = next;
}
if (process.argv.includes('--check')) {
  if (stale.length) {
    console.error(`README.md is stale (${stale.join(', ')}): run \`npx tsc -p . && node scripts/gen-readme.mjs\``);
    process.exit(1);
  }
  console.log('README.md generated sections are up to date');
} else if (stale.length) {
  writeFileSync(path, after);
  console.log(`README.md updated: ${stale.join(', ')}`);
} else {
  console.log('README.md generated sections already up to date');
}
