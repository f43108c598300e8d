// Every log line carries a stable event code from src/log/events.ts; the README lists them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_EVENTS, type LogEvent } from '../src/log/events.js';
import { startSpindle, get, fixture, ROOT } from './helpers/spindle.js';

const CODES = Object.keys(LOG_EVENTS) as LogEvent[];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : n.endsWith('.ts') ? [readFileSync(p, 'utf8')] : [];
  });
}

test('the README list of log events is generated from src/log/events.ts and up to date', () => {
  // exits 1 (and execFileSync throws) when README.md differs from what the table renders
  execFileSync(process.execPath, [join(ROOT, 'scripts/gen-readme.mjs'), '--check'], { encoding: 'utf8' });
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const code of CODES) assert.ok(readme.includes(`| \`${code}\` |`), `README lacks ${code}`);
});

test('the event table is well-formed, and every code in it is written by some log line', () => {
  const src = sources(join(ROOT, 'src')).join('\n').replace(/export const LOG_EVENTS = \{[\s\S]*?\} as const/, '');
  for (const [code, when] of Object.entries(LOG_EVENTS)) {
    assert.match(code, /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/, code);
    assert.ok(when.length > 0 && !when.includes('\n'), `${code}: one line`);
    assert.ok(src.includes(`'${code}'`), `${code} is declared but no log line uses it`);
  }
});

test('every line a running server writes carries an event code from the table', { timeout: 60000 }, async () => {
  // chmod-socket without a UNIX socket: a configuration warning, logged with its code as the event
  const s = await startSpindle([fixture('serve/app.mjs'), '--http-socket', '127.0.0.1:0', '--processes', '2',
    '--log-level', 'debug', '--no-disable-logging', '--chmod-socket', '660']);
  try {
    assert.equal((await get(`${s.url}/`)).status, 200);
    assert.equal((await get(`${s.url}/throw`)).status, 500);
    await s.waitForLog((l) => l.event === 'APP_ERROR', 10000, 'the app error');
    await s.waitForLog((l) => l.event === 'REQUEST' && l.status === 500, 10000, 'the 500 request line');
    process.kill(s.proc.pid!, 'SIGHUP');
    await s.waitForLog((l) => l.event === 'RELOAD_DONE', 20000, 'the chain reload');
  } finally {
    await s.stop();
  }
  const json = s.lines.filter((l) => !l.raw);
  assert.ok(json.some((l) => l.event === 'STOPPED'), 'the server stopped');
  assert.ok(json.some((l) => l.event === 'CONFIG_NO_EFFECT' && l.option === 'chmod-socket'), 'the config warning, by its code');
  const known = new Set<string>(CODES);
  const without = json.filter((l) => typeof l.event !== 'string' || !known.has(l.event));
  assert.deepEqual(without, [], 'lines without a known event code');
});
