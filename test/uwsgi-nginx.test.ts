// A real nginx in front of Spindle with an unchanged `uwsgi_pass` setup (Debian's uwsgi_params),
// over TCP and over a UNIX socket. nginx must be installed (npm test's pretest script installs it); a missing nginx is
// a failure with the install command, never a skip.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSpindle, fixture, get, until, type Running } from './helpers/spindle.js';

const INSTALL = 'apt-get install -y nginx-light   (Debian/Ubuntu; the pretest script of npm test, scripts/install-test-deps.sh, installs it)';

function findNginx(): string | null {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

function uwsgiParams(): string {
  for (const p of ['/etc/nginx/uwsgi_params', '/usr/local/nginx/conf/uwsgi_params']) if (existsSync(p)) return p;
  throw new Error(`nginx's uwsgi_params file is missing; reinstall nginx: ${INSTALL}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

describe('nginx uwsgi_pass → Spindle', () => {
  let s: Running;
  let dir: string;
  let nginx: ChildProcess | undefined;
  let nginxErr = '';
  let base: string;

  before(async () => {
    const bin = findNginx();
    assert.ok(bin, `nginx is not installed; this test needs it: ${INSTALL}`);
    dir = mkdtempSync(join(tmpdir(), 'spindle-nginx-'));
    const sock = join(dir, 'spindle.sock');
    s = await startSpindle([fixture('uwsgi/app.mjs'), '--uwsgi-socket', '127.0.0.1:0', '--uwsgi-socket', sock,
      '--chmod-socket', '666', '--processes', '2', '--limit-post', '4M']);
    const uwsgiTcp = s.addresses.find((a) => a.startsWith('uwsgi://'))!.slice('uwsgi://'.length);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // As root, nginx's workers would switch to 'nobody', who may not reach the temp dir.
    const user = process.getuid?.() === 0 ? 'user root;' : '';
    writeFileSync(join(dir, 'nginx.conf'), `
${user}
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 8m;
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    location /unix/ {
      include ${uwsgiParams()};
      uwsgi_pass unix:${sock};
    }
    location / {
      include ${uwsgiParams()};
      uwsgi_pass ${uwsgiTcp};
    }
  }
}
`);
    nginx = spawn(bin, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
    nginx.stderr!.setEncoding('utf8').on('data', (d: string) => { nginxErr += d; });
    let exited = false;
    nginx.once('exit', () => { exited = true; });
    await until(async () => {
      if (exited) throw new Error(`nginx exited at start-up:\n${nginxErr}`);
      try { return (await get(`${base}/status?code=200`, { timeoutMs: 2000 })).status === 200; } catch { return false; }
    }, 15000, 'nginx to answer').catch((err: Error) => {
      const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
      throw new Error(`${err.message}\nnginx stderr:\n${nginxErr}\nnginx error.log:\n${log}`);
    });
  });

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const gone = new Promise((r) => nginx!.once('exit', r));
      nginx.kill('SIGQUIT');
      const t = setTimeout(() => nginx!.kill('SIGKILL'), 10000);
      await gone;
      clearTimeout(t);
    }
    await s?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('GET with a query string and request headers reaching the app', async () => {
    const r = await get(`${base}/seen?x=1&y=two`, { headers: { 'x-trace': 'abc', cookie: 'a=1; b=2', 'user-agent': 'spindle-test' } });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body.toString());
    assert.equal(seen.method, 'GET');
    assert.equal(new URL(seen.url).pathname + new URL(seen.url).search, '/seen?x=1&y=two');
    assert.equal(seen.headers['x-trace'], 'abc');
    assert.equal(seen.headers.cookie, 'a=1; b=2');
    assert.equal(seen.headers['user-agent'], 'spindle-test');
    assert.match(seen.headers.host, /^127\.0\.0\.1/);
  });

  test('POST with a body (TCP and UNIX socket)', async () => {
    const body = JSON.stringify({ hello: 'world', pad: 'z'.repeat(100_000) });
    for (const path of ['/seen', '/unix/seen']) {
      const r = await get(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 200, path);
      const seen = JSON.parse(r.body.toString());
      assert.equal(seen.method, 'POST');
      assert.equal(seen.body, body, path);
      assert.equal(seen.headers['content-type'], 'application/json');
      assert.equal(seen.headers['content-length'], String(Buffer.byteLength(body)));
    }
  });

  test('status codes and response headers pass through', async () => {
    for (const code of [201, 404, 418, 500, 503]) {
      const r = await get(`${base}/status?code=${code}`);
      assert.equal(r.status, code);
      assert.equal(r.headers['x-app'], 'uwsgi-fixture');
    }
    const missing = await get(`${base}/unix/nothing-here`);
    assert.equal(missing.status, 404);
  });

  test('a large response (1.5 MiB) arrives intact, also streamed', async () => {
    const size = 1536 * 1024;
    for (const path of ['/big', '/unix/big']) {
      const r = await get(`${base}${path}?bytes=${size}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.length, size, path);
      for (const i of [0, 250, 251, 12345, size - 1]) assert.equal(r.body[i], i % 251, `${path} byte ${i}`);
    }
    const st = await get(`${base}/stream?n=5`);
    assert.equal(st.body.toString(), 'part 1\npart 2\npart 3\npart 4\npart 5\n');
  });

  test('limit-post answers 413 through nginx', async () => {
    const r = await get(`${base}/seen`, { method: 'POST', body: Buffer.alloc(5 * 1024 * 1024, 1) });
    assert.equal(r.status, 413);
  });
});
