// Smoke run of the benchmark suite (bench/run.mjs --quick) so the harness never rots.
// wrk is required: when it is missing this test FAILS with the install command (it does not skip).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// compiled to dist/test/bench-smoke.test.js: the repository root is two levels up
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function haveWrk(): boolean {
  try { execFileSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }); return true; } catch { return false; }
}

function runScript(script: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bench', script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    // SIGINT lets the harness kill its own process groups before it exits
    const timer = setTimeout(() => { child.kill('SIGINT'); reject(new Error(`bench/${script} did not finish in ${timeoutMs} ms:\n${output}`)); }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

/** The markdown row of `setup` in the first results table, with a numeric req/s cell. */
function reqPerSecond(markdown: string, setup: string): number {
  const row = markdown.split('\n').find((l) => l.startsWith(`| ${setup} | `) && /^\| [\w-]+ \| [\d,]+ \|/.test(l));
  assert.ok(row, `no numeric req/s row for ${setup} in the report:\n${markdown.slice(0, 4000)}`);
  return Number(row.split('|')[2].trim().replace(/,/g, ''));
}

/** A cell of `setup`'s row in the first results table, by its column's header. */
function cell(markdown: string, setup: string, column: string): string {
  const lines = markdown.split('\n');
  const header = lines.findIndex((l) => l.startsWith('| setup | req/s'));
  assert.ok(header >= 0, 'no results table in the report');
  const at = lines[header]!.split('|').map((c) => c.trim()).indexOf(column);
  assert.ok(at > 0, `no column "${column}" in: ${lines[header]}`);
  const row = lines.slice(header).find((l) => l.startsWith(`| ${setup} | `));
  assert.ok(row, `no row for ${setup}`);
  return row.split('|')[at]!.trim();
}

test('bench smoke: node-http, node-cluster and node-threads, hello, quick', { timeout: 60_000 }, async () => {
  assert.ok(haveWrk(), 'wrk is not installed; the benchmark smoke test needs it. Install it: apt-get install -y wrk');
  const dir = mkdtempSync(path.join(tmpdir(), 'spindle-bench-'));
  try {
    const out = path.join(dir, 'RESULTS.md');
    const { code, output } = await runScript('run.mjs',
      ['--quick', '--setups', 'node-http,node-cluster,node-threads', '--workloads', 'hello', '--rounds', '1', '--out', out], 50_000);
    assert.equal(code, 0, `bench/run.mjs exited with ${code}:\n${output}`);
    const md = readFileSync(out, 'utf8');
    for (const setup of ['node-http', 'node-cluster', 'node-threads']) {
      const rps = reqPerSecond(md, setup);
      assert.ok(Number.isFinite(rps) && rps > 0, `${setup}: req/s ${rps}`);
    }
    assert.match(md, /## Targets \(issue 6\)/);
    assert.match(md, /<details>/);
    assert.match(readFileSync(path.join(dir, 'throughput.svg'), 'utf8'), /^<\?xml[\s\S]*<svg[\s\S]*<rect/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Depends on the Spindle CLI (issue 3). When Spindle does not start, the harness reports
// "spindle: failed to start: …" and exits 3, and this test fails with that output (it never skips).
test('bench smoke: spindle (default and fetch handlers) beside node-http, hello, quick', { timeout: 60_000 }, async () => {
  assert.ok(haveWrk(), 'wrk is not installed; the benchmark smoke test needs it. Install it: apt-get install -y wrk');
  const dir = mkdtempSync(path.join(tmpdir(), 'spindle-bench-'));
  try {
    const out = path.join(dir, 'RESULTS.md');
    const { code, output } = await runScript('run.mjs',
      ['--quick', '--setups', 'node-http,spindle,spindle-fetch', '--workloads', 'hello', '--rounds', '1', '--connections', '64', '--out', out], 50_000);
    assert.doesNotMatch(output, /spindle: failed to start/, `the Spindle setup did not start:\n${output}`);
    assert.equal(code, 0, `bench/run.mjs exited with ${code}:\n${output}`);
    const md = readFileSync(out, 'utf8');
    for (const setup of ['node-http', 'spindle', 'spindle-fetch']) {
      const rps = reqPerSecond(md, setup);
      assert.ok(Number.isFinite(rps) && rps > 0, `${setup}: req/s ${rps}`);
    }
    assert.match(md, /\| hello world, 64 conn: Spindle ≥ 1\.0× node:http single-thread \| [\d.]+× \|/);
    // The connections the kernel accepted during the measurement: at least wrk's own 64.
    const opened = Number(cell(md, 'spindle', 'connections opened'));
    assert.ok(Number.isInteger(opened) && opened >= 64, `connections opened: ${opened}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// bench/cpu-accounting.mjs: one short round of two setups; each row must carry measured numbers.
test('bench smoke: cpu-accounting, node-threads and spindle, hello', { timeout: 60_000 }, async () => {
  assert.ok(haveWrk(), 'wrk is not installed; the benchmark smoke test needs it. Install it: apt-get install -y wrk');
  const { code, output } = await runScript('cpu-accounting.mjs',
    ['--setups', 'node-threads,spindle', '--workload', 'hello', '--rounds', '1', '--duration', '1', '--warmup', '0'], 50_000);
  assert.equal(code, 0, `bench/cpu-accounting.mjs exited with ${code}:\n${output}`);
  for (const setup of ['node-threads', 'spindle']) {
    const row = output.split('\n').find((l) => l.startsWith(`| ${setup} | `));
    assert.ok(row, `no row for ${setup}:\n${output}`);
    const [rps, user, sys, other, preempted] = row.split('|').slice(2, 7).map((c) => Number(c.trim().replace(/,/g, '')));
    assert.ok(rps! > 0, `${setup}: req/s in ${row}`);
    assert.ok(user! > 0 && sys! >= 0 && other! >= 0 && preempted! >= 0, `${setup}: per-request CPU in ${row}`);
  }
});

test('bench smoke: cpu-accounting refuses an unknown setup and a bad number, naming them, before starting anything', { timeout: 30_000 }, async () => {
  const unknown = await runScript('cpu-accounting.mjs', ['--setups', 'node-threads,no-such-setup'], 20_000);
  assert.equal(unknown.code, 1);
  assert.match(unknown.output, /unknown setup no-such-setup; known: .*node-threads/);
  const rounds = await runScript('cpu-accounting.mjs', ['--rounds', '0'], 20_000);
  assert.equal(rounds.code, 1);
  assert.match(rounds.output, /--rounds must be a whole number >= 1/);
});
