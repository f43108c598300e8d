// How the code is laid out (CONTRIBUTING.md, "How the code is laid out"), checked against src/.
//
// A room is a folder of src/ (src/master/…) or a file at its top (src/index.ts is the room
// `index`). An edge is a relative module specifier in an import or export statement — type-only
// ones included, since a type ties two rooms as much as a value does — or in an `import('…')`
// (call or type), as TypeScript's preProcessFile reads them.
// A thread's entry file, loaded by `new Worker(new URL('…', import.meta.url))`, is not an edge:
// that code runs in another thread, and what both sides share lives in src/protocol/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../', import.meta.url));
const src = join(root, 'src');

/**
 * Which room may import which: the arrows run one way (cli → master → front / worker → api → shm /
 * config), with protocol and errors below them all. CONTRIBUTING.md prints this table; an edge the
 * code does not use is an error too, so that the table says exactly what the code does.
 */
const ALLOWED: Record<string, readonly string[]> = {
  index: ['api', 'config', 'errors'],
  server: ['master', 'errors'],
  cli: ['master', 'worker', 'parent', 'config', 'protocol', 'errors'],
  parent: ['log', 'protocol'],
  master: ['front', 'cheaper', 'api', 'log', 'config', 'shm', 'protocol', 'errors'],
  worker: ['front', 'api', 'log', 'shm', 'protocol', 'errors'],
  front: ['log', 'protocol'],
  api: ['config', 'shm', 'protocol', 'errors'],
  config: ['shm', 'protocol', 'errors'],
  log: ['protocol', 'errors'],
  cheaper: [],
  shm: ['errors'],
  protocol: [],
  errors: [],
};

/** Rooms that import no node: module and no package: plain code that any thread can load. */
const PLAIN = ['protocol', 'shm', 'cheaper', 'errors'];

interface SourceFile { path: string; room: string; imports: string[]; packages: string[]; entries: string[] }

function listTs(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? listTs(p) : n.endsWith('.ts') && !n.endsWith('.d.ts') ? [p] : [];
  });
}

const roomOf = (path: string): string => (path.includes('/') ? path.slice(0, path.indexOf('/')) : path.replace(/\.ts$/, ''));

const ENTRY = /new URL\(\s*['"](\.[^'"]+\.js)['"]\s*,\s*import\.meta\.url\s*\)/g;

/**
 * The module specifiers of a file: imports, re-exports, import() calls and types, read by
 * TypeScript's own scanner (comments and strings are not mistaken for imports); and the thread
 * entry files it starts.
 */
function specifiers(text: string): { imports: string[]; entries: string[] } {
  const imports = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
  return { imports, entries: [...text.matchAll(ENTRY)].map((m) => m[1]!) };
}

function readSources(): Map<string, SourceFile> {
  const files = new Map<string, SourceFile>();
  for (const abs of listTs(src)) {
    const path = relative(src, abs);
    const { imports, entries } = specifiers(readFileSync(abs, 'utf8'));
    const local = (spec: string) => relative(src, resolve(dirname(abs), spec.replace(/\.js$/, '.ts')));
    files.set(path, {
      path,
      room: roomOf(path),
      imports: imports.filter((s) => s.startsWith('.')).map(local),
      packages: imports.filter((s) => !s.startsWith('.')),
      entries: entries.map(local),
    });
  }
  return files;
}

const files = readSources();

test('the parser finds every form of import', () => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from '../b/b.js';",
    'import {\n  c,\n  type D,\n} from "./c.js";',
    "import * as e from './e.js';",
    "import f, { g } from './f.js';",
    "export { h } from './h.js';",
    "export type { I } from './i.js';",
    "export * from './j.js';",
    "import './k.js';",
    "const l = await import('./l.js');",
    "let m: import('./m.js').M;",
    "// import { x } from './not-a.js';",
    "/* import { y } from './not-b.js'; */",
    "// a comment that says `/*` does not hide the next import",
    "import { n } from './n.js';",
    "/** a doc comment */ export const p = 1;",
    "const s = \"import { o } from './not-c.js'\";",
    "const w = new Worker(new URL('./entry.js', import.meta.url));",
  ].join('\n');
  const { imports, entries } = specifiers(text);
  assert.deepEqual(imports.sort(), ['../b/b.js', './a.js', './c.js', './e.js', './f.js', './h.js', './i.js', './j.js', './k.js', './l.js', './m.js', './n.js']);
  assert.deepEqual(entries, ['./entry.js']);
});

test('every relative import names a file of src/', () => {
  assert.ok(files.size > 50, `found only ${files.size} files under ${src}`);
  for (const f of files.values()) {
    for (const to of [...f.imports, ...f.entries]) assert.ok(files.has(to), `${f.path} imports ${to}, which is not in src/`);
  }
});

test('no import cycle between files', () => {
  // Tarjan's strongly connected components: any component of more than one file is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of files.get(v)!.imports) {
      if (w === v) cycles.push([v]);
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const v of files.keys()) if (!index.has(v)) visit(v);
  assert.deepEqual(cycles, [], `files in an import loop (each reaches the others): ${cycles.map((c) => `{${c.join(', ')}}`).join('; ')}`);
});

test('the table of arrows has no loop between rooms', () => {
  const left = new Map(Object.entries(ALLOWED).map(([room, tos]) => [room, new Set(tos)]));
  for (let removed = true; removed;) { // peel off rooms that import no remaining room
    removed = false;
    for (const [room, tos] of left) {
      if ([...tos].every((to) => !left.has(to))) { left.delete(room); removed = true; }
    }
  }
  assert.deepEqual([...left.keys()], [], 'these rooms import each other around a loop');
});

test('every room→room import is in the table, and every edge of the table is used', () => {
  const rooms = new Set([...files.values()].map((f) => f.room));
  assert.deepEqual([...rooms].sort(), Object.keys(ALLOWED).sort(), 'the rooms of src/ and the rooms of ALLOWED differ: add the new room to the table (and to CONTRIBUTING.md)');
  const used = new Map<string, string>();
  const wrong: string[] = [];
  for (const f of files.values()) {
    for (const to of f.imports) {
      const r = roomOf(to);
      if (r === f.room) continue;
      used.set(`${f.room} → ${r}`, `${f.path} → ${to}`);
      if (!ALLOWED[f.room]!.includes(r)) wrong.push(`${f.path} → ${to} (${f.room} → ${r})`);
    }
  }
  assert.deepEqual(wrong, [], 'imports against the arrows (move the shared part down, or give the importer a narrow interface)');
  const unused = Object.entries(ALLOWED).flatMap(([from, tos]) => tos.map((to) => `${from} → ${to}`)).filter((e) => !used.has(e));
  assert.deepEqual(unused, [], 'edges of the table that no import uses: remove them from ALLOWED and CONTRIBUTING.md');
});

test('protocol, shm, cheaper and errors import no node: module and no package', () => {
  const found = [...files.values()].filter((f) => PLAIN.includes(f.room) && f.packages.length > 0).map((f) => `${f.path}: ${f.packages.join(', ')}`);
  assert.deepEqual(found, []);
});

test('a thread entry file is loaded by its thread only, never imported', () => {
  const entries = new Set([...files.values()].flatMap((f) => f.entries));
  assert.ok(entries.has('worker/entry.ts'), `thread entries found: ${[...entries].join(', ')}`);
  const importers = [...files.values()].flatMap((f) => f.imports.filter((to) => entries.has(to)).map((to) => `${f.path} → ${to}`));
  assert.deepEqual(importers, [], 'what a thread and its parent share goes in src/protocol/');
});

test('CONTRIBUTING.md: its rooms, files and arrows are the ones of src/', () => {
  const doc = readFileSync(join(root, 'CONTRIBUTING.md'), 'utf8');
  const start = doc.indexOf('## How the code is laid out');
  assert.ok(start >= 0, 'CONTRIBUTING.md lacks "## How the code is laid out"');
  const next = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, next < 0 ? undefined : next);

  // The arrows: a fenced block of "room → room, room" lines, one per room, exactly ALLOWED.
  const block = /```text\n([\s\S]*?)```/.exec(section.slice(section.indexOf('### Which room may import which')));
  assert.ok(block, 'the section lacks the ```text block under "### Which room may import which"');
  const printed: Record<string, string[]> = {};
  for (const line of block[1]!.split('\n').filter((l) => l.trim())) {
    const m = /^(\S+)\s+→\s*(.*)$/.exec(line.trim());
    assert.ok(m, `cannot read the line "${line}" (expected "room → room, room")`);
    printed[m[1]!] = m[2]!.trim() === '(nothing)' ? [] : m[2]!.split(',').map((s) => s.trim());
  }
  assert.deepEqual(printed, Object.fromEntries(Object.entries(ALLOWED).map(([k, v]) => [k, [...v]])),
    'the table in CONTRIBUTING.md differs from ALLOWED in test/layout.test.ts');

  // The rooms: each one of src/ is described (`name/` or `name.ts` in the room list), and each described exists.
  for (const room of Object.keys(ALLOWED)) {
    const isFile = existsSync(join(src, `${room}.ts`));
    assert.ok(section.includes(`\`src/${room}${isFile ? '.ts' : '/'}\``), `CONTRIBUTING.md does not describe the room src/${room}${isFile ? '.ts' : '/'}`);
  }
  // Every path the section names exists (the tour of one request names files).
  const paths = [...section.matchAll(/`((?:src|test|bench|bin)\/[^`\s]*)`/g)].map((m) => m[1]!);
  assert.ok(paths.length > 20, `the section names only ${paths.length} paths`);
  for (const p of paths) assert.ok(existsSync(join(root, p)), `CONTRIBUTING.md names ${p}, which does not exist`);
});
