#!/usr/bin/env node
// Regenerate the list of error codes in README.md (between <!-- errors:start --> and
// <!-- errors:end -->) from the table in src/errors.ts. Needs the compiled package:
//   npx tsc -p . && node scripts/gen-errors-doc.mjs          (write)
//   node scripts/gen-errors-doc.mjs --check                   (exit 1 when stale)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const path = fileURLToPath(new URL('../README.md', import.meta.url));
const { updateErrorsSection } = await import(new URL('../dist/src/errors.js', import.meta.url).href);
const before = readFileSync(path, 'utf8');
const after = updateErrorsSection(before);
if (process.argv.includes('--check')) {
  if (after !== before) {
    console.error('README.md error codes are stale: run `npx tsc -p . && node scripts/gen-errors-doc.mjs`');
    process.exit(1);
  }
  console.log('README.md error codes are up to date');
} else if (after !== before) {
  writeFileSync(path, after);
  console.log('README.md error codes updated');
} else {
  console.log('README.md error codes already up to date');
}
