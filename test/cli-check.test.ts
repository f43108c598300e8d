// Integration: the real `node bin/spindle.js` (build first: npx tsc -p .).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPTION_LIST } from '../src/config/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spindle-cli-'));
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPINDLE_')));

function spindle(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['bin/spindle.js', ...args], {
    cwd: root, env: { ...cleanEnv, ...env }, encoding: 'utf8', timeout: 15_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('spindle check: valid config, exit 0, every value with its source', () => {
  const ini = join(dir, 'ok.ini');
  writeFileSync(ini, '[uwsgi]\nenv = FROM_INI=1\nenable-threads = true\n');
  writeFileSync(join(dir, 'app.mjs'), 'export default () => new Response("ok");\n');
  const r = spindle(['check', 'app.mjs', '--ini', ini, '--chdir', dir], { SPINDLE_STRICT: 'yes' });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^OPTION +VALUE +SOURCE$/m);
  assert.match(r.out, /^app +"app\.mjs" +argument APP$/m);
  assert.match(r.out, new RegExp(`^chdir +${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +flag --chdir$`, 'm'));
  assert.match(r.out, /^env +FROM_INI=1 +.*ok\.ini:2$/m);
  assert.match(r.out, /^strict +true +env SPINDLE_STRICT$/m);
  assert.match(r.out, /^master +true +default$/m);
  assert.match(r.out, /note: enable-threads \(.*ok\.ini:3\): not needed on Node: /);
  assert.match(r.out, /configuration is valid\n$/);
  for (const o of OPTION_LIST) assert.match(r.out, new RegExp(`^${o.name}( |$)`, 'm'), o.name);
});

test('spindle check --json: machine-readable config and sources', () => {
  const r = spindle(['check', '--json', '--app', 'test/fixtures/serve/app.mjs', '--env', 'A=1', '--env', 'B=2']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { valid: boolean; config: Record<string, unknown>; sources: Record<string, string>; origins: Record<string, unknown> };
  assert.equal(j.valid, true);
  assert.equal(j.config['app'], 'test/fixtures/serve/app.mjs');
  assert.deepEqual(j.config['env'], ['A=1', 'B=2']);
  assert.equal(j.sources['env'], 'flag --env');
  assert.deepEqual(j.origins['app'], { kind: 'flag', name: '--app' });
  assert.equal(j.sources['strict'], 'default');
});

test('spindle check: the guide config fails with exit 1, all errors on stderr, the suggestion included', () => {
  const r = spindle(['check', '--ini', 'test/fixtures/config/guide.ini']);
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.match(r.err, /^spindle check: invalid configuration \(\d+ problems?\):/);
  assert.match(r.err, /test\/fixtures\/config\/guide\.ini:15: unknown option 'py-callos-afterfork'; did you mean py-call-osafterfork\? \[CONFIG_UNKNOWN_OPTION\]/);
});

test('spindle check: several errors from several sources at once; --json reports them too', () => {
  const r = spindle(['check', '--json', '--harakri=3', '--chdir'], { SPINDLE_STRICT: 'perhaps' });
  assert.equal(r.code, 1);
  const j = JSON.parse(r.out) as { valid: boolean; problems: { code: string; message: string }[] };
  assert.equal(j.valid, false);
  assert.deepEqual(j.problems.map((p) => p.code).sort(), ['CONFIG_INVALID_VALUE', 'CONFIG_INVALID_VALUE', 'CONFIG_UNKNOWN_OPTION']);
  assert.match(r.err, /unknown flag --harakri; did you mean --harakiri\?/);
  assert.match(r.err, /flag --chdir: needs a value/);
  assert.match(r.err, /env SPINDLE_STRICT: invalid value 'perhaps' for SPINDLE_STRICT: expected a boolean/);
});

test('serving with a config error exits 1 before anything starts', () => {
  const r = spindle(['app.mjs', '--harakri', '3']);
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.match(r.err, /^spindle: invalid configuration \(1 problem\):\n {2}- unknown flag --harakri; did you mean --harakiri\?/);
});

test('a mistyped sub-command is not taken for an APP', () => {
  const r = spindle(['chek', '--json']);
  assert.equal(r.code, 1);
  // --json is no option of serving: reported as an unknown flag, or the command as mistyped
  assert.match(r.err, /unknown (flag --json|command 'chek' \(did you mean check\?\))|flag --json: json is a uWSGI option Spindle does not support/);
  const r2 = spindle(['chek']);
  assert.equal(r2.code, 1);
  assert.match(r2.err, /unknown command 'chek' \(did you mean check\?\)/);
});

test('spindle --help lists every option; --version prints the version', () => {
  const h = spindle(['--help']);
  assert.equal(h.code, 0);
  for (const o of OPTION_LIST) assert.ok(h.out.includes(`${o.name}`), o.name);
  assert.match(h.out, /Usage:\n {2}spindle \[APP\] \[options\]/);
  const c = spindle(['check', '--help']);
  assert.equal(c.code, 0);
  const reference = (text: string) => text.slice(text.indexOf('Every option below'));
  assert.equal(reference(c.out), reference(h.out), 'check --help prints the same option reference');
  const v = spindle(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.out, /^\d+\.\d+\.\d+\n$/);
});

test("check's printed values round-trip: the table written back as an ini gives the same configuration", () => {
  const original = join(dir, 'original.ini');
  writeFileSync(original, [
    '[uwsgi]', `app = ${root}test/fixtures/serve/app.mjs`, 'harakiri = 30.5', 'log-slow = 250', 'reload-on-rss = 512',
    'buffer-size = 32768', 'limit-post = 1000', 'socket-timeout = 1500ms', 'env = A=1', 'env = B=two words',
    'http-socket = 127.0.0.1:0', 'http-socket = /tmp/spindle-rt.sock', 'chmod-socket = 660',
    'cache2 = name=c,items=10', 'procname-prefix = "my svc "', 'log-format = json', 'vacuum = false',
    'cron = 0 -1 -1 -1 -1 echo hi', 'max-worker-lifetime = 2h', 'worker-heap-limit = 1G', '',
  ].join('\n'));
  const first = spindle(['check', '--ini', original]);
  assert.equal(first.code, 0, first.err);
  const lines = ['[spindle]'];
  for (const row of first.out.split('\n').slice(1)) {
    const m = /^(\S+)(?: \((?:python-only|not yet)\))? {2,}(.*?) {2,}\S.*$/.exec(row);
    if (!m || m[1] === 'ini' || m[2] === '-') continue;
    for (const v of m[2]!.split(' ; ')) lines.push(`${m[1]} = ${v}`);
  }
  const again = join(dir, 'again.ini');
  writeFileSync(again, `${lines.join('\n')}\n`);
  const a = spindle(['check', '--json', '--ini', original]);
  const b = spindle(['check', '--json', '--ini', again]);
  assert.equal(b.code, 0, `${b.err}\n${lines.join('\n')}`);
  const config = (r: { out: string }) => {
    const c = (JSON.parse(r.out) as { config: Record<string, unknown> }).config;
    delete c['ini'];
    return c;
  };
  assert.deepEqual(config(b), config(a));
  assert.match(first.out, /^harakiri +30\.5s /m);
  assert.match(first.out, /^buffer-size +32k /m);
  assert.match(first.out, /^max-worker-lifetime +7200s /m);
  assert.match(first.out, /^reload-on-rss +512MB /m);
});
