#!/usr/bin/env node
// Regenerate the option reference in README.md (between <!-- options:start --> and
// <!-- options:end -->) from the option table. Needs the compiled package:
//   npx tsc -p . && node scripts/gen-options-doc.mjs          (write)
//   node scripts/gen-options-doc.mjs --check                   (exit 1 when stale)
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { updateReadme } = await import(new URL('../dist/src/config/doc.js', import.meta.url).href);
const path = `${root}README.md`;
const before = existsSync(path) ? readFileSync(path, 'utf8') : '# Spindle\n';
const after = updateReadme(before);
if (process.argv.includes('--check')) {
  if (after !== before) {
    console.error('README.md option reference is stale: run `npx tsc -p . && node scripts/gen-options-doc.mjs`');
    process.exit(1);
  }
  console.log('README.md option reference is up to date');
} else if (after !== before) {
  writeFileSync(path, after);
  console.log('README.md option reference updated');
} else {
  console.log('README.md option reference already up to date');
}
