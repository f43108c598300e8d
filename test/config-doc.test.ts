// The README option reference and --help are generated from the option table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OPTION_LIST, SECTIONS } from '../src/config/index.js';
import { renderHelp, renderOptionsMarkdown, renderVocabularyMarkdown, readmeSection, updateReadme } from '../src/config/doc.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('README option reference is up to date with src/config/options.ts', () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const current = readmeSection(readme);
  assert.notEqual(current, undefined, 'README.md lacks the <!-- options:start --> / <!-- options:end --> markers');
  assert.ok(current === renderOptionsMarkdown(),
    'README.md option reference is stale: regenerate it with `npx tsc -p . && node scripts/gen-readme.mjs`');
  assert.ok(readmeSection(readme, 'uwsgi-vocabulary') === renderVocabularyMarkdown(),
    'README.md migration table (every uWSGI option) is stale: regenerate it with `npx tsc -p . && node scripts/gen-readme.mjs`');
  assert.equal(updateReadme(readme), readme);
});

test('--help and the README list every option, grouped by section, with default and status', () => {
  const help = renderHelp('9.9.9');
  const md = renderOptionsMarkdown();
  for (const o of OPTION_LIST) {
    assert.ok(help.includes(`--${o.type === 'bool' ? '[no-]' : ''}${o.name}`), `--help lacks ${o.name}`);
    assert.ok(md.includes(`| \`${o.name}\` |`), `README lacks ${o.name}`);
    for (const a of o.aliases ?? []) assert.ok(help.includes(a.length === 1 ? `-${a}` : a), `--help lacks alias ${a}`);
  }
  for (const title of Object.values(SECTIONS)) assert.ok(help.includes(`${title}:`), title);
  assert.match(help, /--harakiri <sec> +a request running longer than this .*\[default: 60s\]/);
  assert.match(help, /-p, --processes|--processes, --workers, -p <n>/);
});

test('the option table is well-formed', () => {
  const names = new Set<string>();
  for (const o of OPTION_LIST) {
    for (const n of [o.name, ...(o.aliases ?? [])]) {
      assert.ok(!names.has(n), `duplicate name ${n}`);
      names.add(n);
      assert.match(n, /^[a-z0-9][a-z0-9-]*$/, n);
    }
    assert.ok(['supported', 'python-only', 'not-yet'].includes(o.status), o.name);
    assert.ok(o.help.length > 0 && !o.help.includes('\n'), `${o.name}: one-line help`);
    assert.ok(o.section in SECTIONS, o.name);
    // a default that differs from uWSGI 2.0 says why (uwsgiDefault is only written when it differs)
    if (o.uwsgiDefault !== undefined || o.uwsgi === false) {
      assert.ok(o.why || o.uwsgi === false, `${o.name}: uwsgiDefault without why`);
    }
    if (o.status === 'python-only') assert.ok(o.reason, `${o.name}: python-only without reason`);
    if (o.type === 'enum') assert.ok(o.choices && o.choices.includes(o.default as string), o.name);
  }
});
