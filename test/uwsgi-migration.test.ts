// Migrating a uwsgi.ini (issue 17, items 5 and 6): every uWSGI 2.0 option name gets an answer,
// module = file:callable is resolved (check) and served (start), chown-socket, logto, http-timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { findOption, inspectConfig } from '../src/config/index.js';
import { uwsgiAnswer, UWSGI_VOCABULARY } from '../src/config/uwsgi-vocabulary.js';
import { startSpindle, get, until, ROOT, BIN, fixture } from './helpers/spindle.js';

const dir = mkdtempSync(join(tmpdir(), 'spindle-migrate-'));
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPINDLE_')));
const UWSGI_NAMES = readFileSync(fixture('config/uwsgi-2.0-options.txt'), 'utf8').split('\n')
  .filter((l) => l && !l.startsWith('#')).map((l) => l.split(' ')[0]!);

function spindle(args: string[], cwd = dir) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: cleanEnv, encoding: 'utf8', timeout: 15_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('every option name of uWSGI 2.0 has an answer: a Spindle option, not needed, or not supported', () => {
  assert.ok(UWSGI_NAMES.length > 1200, `${UWSGI_NAMES.length} names`);
  for (const name of UWSGI_NAMES) {
    const option = findOption(name);
    const answer = uwsgiAnswer(name);
    assert.ok(option || answer, `${name} has no answer`);
    assert.ok(!(option && answer), `${name} is both a Spindle option and in the vocabulary`);
  }
  // the vocabulary holds uWSGI names only, each answer says something
  const known = new Set(UWSGI_NAMES);
  for (const g of UWSGI_VOCABULARY) {
    assert.ok(g.answer.length > 20, g.topic);
    for (const n of g.names) assert.ok(known.has(n), `${n} (${g.topic}) is not a uWSGI 2.0 option`);
  }
  // and the loader never calls one of them unknown (values are nonsense on purpose: only the names matter)
  const ini = file('all.ini', `[uwsgi]\n${UWSGI_NAMES.map((n) => `${n} = 1`).join('\n')}\n`);
  const r = inspectConfig({ argv: ['--ini', ini], env: {}, cwd: dir });
  assert.deepEqual(r.problems.filter((p) => p.code === 'CONFIG_UNKNOWN_OPTION').map((p) => p.message), []);
  const refused = r.problems.filter((p) => p.code === 'CONFIG_NOT_SUPPORTED');
  const odd = refused.filter((p) => !/ is a uWSGI option Spindle does not support: .+; remove the line$| is not supported yet /.test(p.message));
  assert.deepEqual(odd.map((p) => p.message), []);
  assert.ok(refused.length > 500, `${refused.length} refused`);
});

test("the issue's uWSGI options through spindle check: equivalents accepted, not-needed noted, not-supported refused with the alternative", () => {
  file('app.mjs', 'export default () => new Response("ok");\n');
  const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
  const accepted = file('accepted.ini', [
    '[uwsgi]', 'wsgi-file = app.mjs', 'callable = default', `logto = ${join(dir, 'x.log')}`, 'http-timeout = 30',
    'socket = /tmp/spindle-migrate.sock', 'chmod-socket = 660', `chown-socket = ${userInfo().username}:${group}`,
    'post-buffering = 8192', 'memory-report = true', 'pythonpath = /srv/app', 'signal-timer = 17 5', '',
  ].join('\n'));
  const ok = spindle(['check', '--ini', accepted]);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /^socket-timeout +30s +accepted\.ini:5$/m);
  assert.match(ok.out, /^logto +.*x\.log +accepted\.ini:4$/m);
  assert.match(ok.out, new RegExp(`^chown-socket +"${userInfo().username}:${group}"`, 'm'));
  assert.match(ok.out, /^timer +"17 5" +accepted\.ini:12$/m);
  for (const n of ['post-buffering', 'memory-report', 'pythonpath']) {
    assert.match(ok.out, new RegExp(`^note: ${n} \\(accepted\\.ini:\\d+\\): not needed on Node: `, 'm'), n);
  }
  assert.doesNotMatch(ok.out + ok.err, /unknown option/);

  const refused = file('refused.ini', '[uwsgi]\ndaemonize = /var/log/app.log\nstatic-map = /static=/srv/static\npy-tracebacker = /tmp/tb\n');
  const no = spindle(['check', '--ini', refused, 'app.mjs']);
  assert.equal(no.code, 1);
  assert.match(no.err, /refused\.ini:2: daemonize is a uWSGI option Spindle does not support: run Spindle in the foreground under systemd.* \[CONFIG_NOT_SUPPORTED\]/);
  assert.match(no.err, /refused\.ini:3: static-map is a uWSGI option Spindle does not support: serve static files from nginx/);
  assert.match(no.err, /refused\.ini:4: py-tracebacker .*harakiri-verbose/);
  assert.doesNotMatch(no.err, /unknown option|did you mean/);
});

test('module = myapp:app: check explains the translation; serving uses the named export', async () => {
  file('myapp.mjs', 'export default () => new Response("the default export");\nexport const app = { fetch: () => new Response("the app export") };\n');
  const ini = file('module.ini', '[uwsgi]\nmodule = myapp:app\n');
  const c = spindle(['check', '--ini', ini]);
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /^note: app = myapp:app: uWSGI's module form myapp:app means the file \.\/myapp\.js \(or \.mjs, .*\) in .*, serving its export app: .*myapp\.mjs$/m);
  const s = await startSpindle(['--ini', ini, '--http-socket', '127.0.0.1:0', '--processes', '1'], { cwd: dir });
  try {
    const r = await get(`${s.url}/`);
    assert.equal(r.body.toString(), 'the app export');
  } finally {
    await s.stop();
  }
});

test('module = missing:app: check and serving fail with the same explanation (exit 1 / exit 22)', async () => {
  const ini = file('missing.ini', '[uwsgi]\nmodule = pkg.missing:application\nmule = workers/nope.js\n');
  const c = spindle(['check', '--ini', ini]);
  assert.equal(c.code, 1);
  assert.match(c.err, /missing\.ini:2: app = pkg\.missing:application: no such module: uWSGI's module form pkg\.missing:application means the file \.\/pkg\/missing\.js .* serving its export application; none of these exists\. Give the path of your app's entry file instead .*\[CONFIG_APP_NOT_FOUND\]/);
  assert.match(c.err, /missing\.ini:3: mule workers\/nope\.js: no such file .*\[CONFIG_APP_NOT_FOUND\]/);
  const s = await startSpindle(['--module', 'pkg.missing:application', '--http-socket', '127.0.0.1:0'], { cwd: dir, expectExit: true });
  assert.equal((await s.exited).code, 22);
  const fatal = s.lines.find((l) => l.event === 'APP_NOT_FOUND');
  assert.ok(fatal, JSON.stringify(s.lines));
  assert.match(String(fatal.msg), /uWSGI's module form pkg\.missing:application means the file \.\/pkg\/missing\.js/);
});

test('callable naming an export the module lacks: exit 22 listing the exports', async () => {
  file('onlydefault.mjs', 'export default () => new Response("x");\n');
  const s = await startSpindle(['onlydefault.mjs', '--callable', 'application', '--http-socket', '127.0.0.1:0', '--processes', '1'], { cwd: dir, expectExit: true });
  assert.equal((await s.exited).code, 22);
  const fatal = s.lines.find((l) => l.level === 'fatal' && l.reason === 'no-export');
  assert.ok(fatal, JSON.stringify(s.lines));
  assert.match(JSON.stringify(fatal), /asks for its export application.*which it does not have.*default export: a function/);
});

test('chown-socket: the UNIX socket gets the owner and group (user[:group]); an unknown user is a clear error', async () => {
  const me = userInfo();
  // as root, give the socket away for real; otherwise, a group of ours other than the primary one if we have one
  const root = me.uid === 0;
  const user = root ? 'nobody' : me.username;
  const gid = root ? 65534 : (process.getgroups?.().find((g) => g !== me.gid) ?? me.gid);
  const uid = root ? Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })) : me.uid;
  const sock = join(dir, 'chown.sock');
  const s = await startSpindle([fixture('serve/app.mjs'), '--http-socket', sock, '--chmod-socket', '660', '--chown-socket', `${user}:${gid}`, '--processes', '1']);
  try {
    const st = statSync(sock);
    assert.equal(st.uid, uid);
    assert.equal(st.gid, gid);
    assert.equal(st.mode & 0o777, 0o660);
  } finally {
    await s.stop();
  }
  const bad = spindle(['check', fixture('serve/app.mjs'), '--http-socket', sock, '--chown-socket', 'no-such-user-x:www']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /flag --chown-socket: invalid --chown-socket 'no-such-user-x:www': no user named 'no-such-user-x' on this machine/);
  const warn = spindle(['check', fixture('serve/app.mjs'), '--chown-socket', user]);
  assert.match(warn.out, /warning: chown-socket \(flag --chown-socket\) has no effect: no UNIX socket is configured \[CONFIG_NO_EFFECT\]/);
});

test("logto: Spindle's lines and the app's console output are appended to the file, not stdout", async () => {
  const log = join(dir, 'spindle.log');
  writeFileSync(log, 'an earlier line\n');
  file('talky.mjs', 'export default { fetch() { console.log("app-says-hello"); return new Response("ok"); } };\n');
  const s = await startSpindle(['talky.mjs', '--logto', log, '--http-socket', '127.0.0.1:0', '--processes', '1'], { cwd: dir, expectExit: true });
  try {
    const serving = await until(() => readFileSync(log, 'utf8').split('\n').filter(Boolean).slice(1)
      .map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'SERVING'), 20_000, 'serving line in the log file');
    const url = (serving.addresses as string[])[0]!;
    assert.equal((await get(`${url}/`)).body.toString(), 'ok');
    await until(() => readFileSync(log, 'utf8').includes('app-says-hello'), 10_000, 'console output in the log file');
    assert.ok(readFileSync(log, 'utf8').startsWith('an earlier line\n'), 'appended, not truncated');
    assert.deepEqual(s.lines, [], 'nothing on stdout');
  } finally {
    await s.stop();
  }
  assert.ok(existsSync(log));
  const bad = spawnSync(process.execPath, [BIN, fixture('serve/app.mjs'), '--logto', join(dir, 'no/such/dir/x.log')], { cwd: ROOT, env: cleanEnv, encoding: 'utf8', timeout: 15_000 });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /logto = .*no\/such\/dir\/x\.log: cannot open the log file for appending: ENOENT/);
});

test('start() with module = missing:app rejects with the same explanation (APP_LOAD)', async () => {
  const { start } = await import('spindle/server');
  await assert.rejects(() => start({ app: 'pkg.missing:application', chdir: dir, logLevel: 'fatal' }),
    (err: unknown) => (err as { code?: string }).code === 'APP_LOAD' &&
      /start\(\): app = pkg\.missing:application: no such module: uWSGI's module form/.test((err as Error).message));
});
