// `spindle init` through the real CLI: it writes a commented ini sized from the machine and the
// app's measured start-up, that `spindle check` accepts and that serves the app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { plan } from '../src/cli/init-plan.js';
import { BIN, get, startSpindle } from './helpers/spindle.js';

const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPINDLE_')));
const MB = 1024 * 1024;

function spindle(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: cleanEnv, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-init-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

test('spindle init: finds the entry in package.json, measures it, writes an ini that check accepts and that serves', async () => {
  const dir = project({
    'package.json': JSON.stringify({ name: 'demo', type: 'module', main: 'lib/server.mjs' }),
    // 30 MB of start-up heap, so that the measurement shows
    'lib/server.mjs': 'const table = Array.from({ length: 300000 }, (_, i) => ({ i, s: "row" + i }));\n' +
      'export default { fetch() { return new Response("rows " + table.length); } };\n',
  });
  const r = spindle(['init'], dir);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^wrote spindle\.ini: \d+ workers, worker-heap-limit \d+MB, harakiri 60s; the app loads in \d+ ms with \d+ MB of heap\n/);
  const ini = readFileSync(join(dir, 'spindle.ini'), 'utf8');
  assert.match(ini, /^app = lib\/server\.mjs$/m);
  assert.match(ini, /^; The app: package\.json "main"\.$/m);
  const heapMb = Number(/the app: \d+ ms and (\d+) MB of heap to load in one worker \(default export: object with fetch\(\)\)/.exec(ini)?.[1]);
  assert.ok(heapMb >= 20, `measured ${heapMb} MB`);
  const processes = Number(/^processes = (\d+)$/m.exec(ini)?.[1]);
  assert.ok(processes >= 1 && processes <= availableParallelism(), String(processes));
  const limit = Number(/^worker-heap-limit = (\d+)MB$/m.exec(ini)?.[1]);
  assert.ok(limit >= heapMb * 4, `heap limit ${limit} MB leaves room beyond the start-up heap`);
  assert.match(ini, new RegExp(`^reload-on-rss = ${Math.floor(limit * 0.75)}MB$`, 'm'));
  assert.match(ini, /^harakiri = 60s$/m);

  const check = spindle(['check', '--ini', 'spindle.ini'], dir);
  assert.equal(check.code, 0, check.err);
  assert.doesNotMatch(check.out, /^warning:/m);
  assert.match(check.out, /^processes +\d+ +spindle\.ini:\d+$/m);

  const s = await startSpindle(['--ini', 'spindle.ini', '--http-socket', '127.0.0.1:0'], { cwd: dir });
  try {
    assert.equal((await get(`${s.url}/`)).body.toString(), 'rows 300000');
    assert.equal((s.lines.find((l) => l.event === 'SERVING') as { workers?: number }).workers, processes);
  } finally {
    await s.stop();
  }

  const again = spindle(['init'], dir);
  assert.equal(again.code, 1);
  assert.match(again.err, /spindle\.ini already exists; keep it, write elsewhere with --output FILE, or overwrite it with --force/);
  assert.equal(readFileSync(join(dir, 'spindle.ini'), 'utf8'), ini, 'the existing file is untouched');
  const forced = spindle(['init', '--force', '--no-measure'], dir);
  assert.equal(forced.code, 0, forced.err);
  assert.match(readFileSync(join(dir, 'spindle.ini'), 'utf8'), /the app: not measured \(--no-measure\)/);
  const other = spindle(['init', '--output', 'prod.ini', 'lib/server.mjs'], dir);
  assert.equal(other.code, 0, other.err);
  assert.match(readFileSync(join(dir, 'prod.ini'), 'utf8'), /^; The app: given on the command line\.$/m);
});

test('spindle init: the usual entry names, and clear errors when there is no app or it does not load', () => {
  const plain = project({ 'server.js': 'module.exports = (req, res) => res.end("ok");\n' });
  assert.equal(spindle(['init', '--no-measure'], plain).code, 0);
  assert.match(readFileSync(join(plain, 'spindle.ini'), 'utf8'), /^app = server\.js$/m);

  const empty = project({ 'README.md': 'nothing to serve\n' });
  const none = spindle(['init'], empty);
  assert.equal(none.code, 1);
  assert.match(none.err, /no app entry found in .*: looked for package\.json "main" and app\.js, app\.mjs, .*give it: spindle init path\/to\/app\.js/);

  const broken = project({ 'app.mjs': 'throw new Error("no DATABASE_URL");\n' });
  const failed = spindle(['init'], broken);
  assert.equal(failed.code, 22);
  assert.match(failed.err, /the app could not be loaded, so it could not be measured: .*it threw while being imported/);
  assert.match(failed.err, /pass --no-measure/);
});

test('sizing: processes and heap limits follow the memory and the measured start-up', () => {
  const big = plan({ cpus: 8, memoryBytes: 32 * 1024 * MB }, { ms: 50, heapBytes: 20 * MB, kind: 'x' });
  assert.equal(big.processes, 8);
  assert.equal(big.heapLimitMb, 3072);
  assert.equal(big.reloadOnRssMb, 2304);
  // 1 GB and a 100 MB start-up heap: 8 workers of 400 MB do not fit in 768 MB, one does
  const small = plan({ cpus: 8, memoryBytes: 1024 * MB }, { ms: 50, heapBytes: 100 * MB, kind: 'x' });
  assert.equal(small.processes, 1);
  assert.ok(small.heapLimitMb >= 400 && small.heapLimitMb <= 768, String(small.heapLimitMb));
  // a slow start-up: workers live longer, a full reload waits longer
  const slow = plan({ cpus: 2, memoryBytes: 4096 * MB, somaxconn: 128 }, { ms: 8000, heapBytes: 50 * MB, kind: 'x' });
  assert.equal(slow.minLifetimeS, 80);
  assert.equal(slow.fullReloadTimeoutS, 60);
  assert.equal(slow.listen, 128);
  assert.ok(slow.minLifetimeS < slow.maxLifetimeS);
});
