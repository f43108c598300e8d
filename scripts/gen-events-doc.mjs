#!/usr/bin/env node
// Regenerate the list of log event codes in README.md (between <!-- log-events:start --> and
// <!-- log-events:end -->) from src/log/events.ts. Needs the compiled package:
//   npx tsc -p . && node scripts/gen-events-doc.mjs          (write)
//   node scripts/gen-events-doc.mjs --check                   (exit 1 when stale)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { LOG_EVENTS } = await import(new URL('../dist/src/log/events.js', import.meta.url).href);
const START = '<!-- log-events:start -->';
const END = '<!-- log-events:end -->';

const rows = Object.entries(LOG_EVENTS).map(([code, when]) => `| \`${code}\` | ${when.replaceAll('|', '\\|')} |`);
const section = [
  START,
  '<!-- generated from src/log/events.ts by `node scripts/gen-events-doc.mjs`; do not edit by hand -->',
  '',
  '| `event` | the line says |',
  '|---|---|',
  ...rows,
  '',
  END,
].join('\n');

const path = `${root}README.md`;
const before = readFileSync(path, 'utf8');
const from = before.indexOf(START);
const to = before.indexOf(END);
if (from < 0 || to < from) {
  console.error(`README.md lacks the ${START} / ${END} markers`);
  process.exit(1);
}
const after = before.slice(0, from) + section + before.slice(to + END.length);
if (process.argv.includes('--check')) {
  if (after !== before) {
    console.error('README.md list of log events is stale: run `npx tsc -p . && node scripts/gen-events-doc.mjs`');
    process.exit(1);
  }
  console.log('README.md list of log events is up to date');
} else if (after !== before) {
  writeFileSync(path, after);
  console.log('README.md list of log events updated');
} else {
  console.log('README.md list of log events already up to date');
}
