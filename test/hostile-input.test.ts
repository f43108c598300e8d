// Hostile and unlucky clients against the default serving path (issue 16), through the real CLI
// and real sockets: a client must not be able to crash a worker (an invalid status message, a
// Trailer then a throw, running the process out of file descriptors), smuggle a path through the
// Host header, lose a response behind Connection: close, get raw control characters to an app
// through a uwsgi socket, read secrets in the stats, or flood the log.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeUwsgiPacket } from '../src/front/uwsgi-listener.js';
import { startSpindle, get, raw, fixture, until, rawStats, type Running, type LogLine } from './helpers/spindle.js';

const NODE_APP = fixture('hostile/node-app.cjs');
const FETCH_APP = fixture('hostile/fetch-app.mjs');
const base = ['--http-socket', '127.0.0.1:0', '--min-worker-lifetime', '0'];

const died = (s: Running) => s.lines.filter((l) => l.event === 'WORKER_DIED');
const errors = (s: Running) => s.lines.filter((l) => l.level === 'error' || l.level === 'fatal');
const byEvent = (event: string) => (l: LogLine) => l.event === event;

/** One raw request; `extra` follows it in the same write. */
const rawGet = (url: string, path: string, headers: string, extra = '') =>
  raw(url, `GET ${path} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n${extra}`);

describe('a Node app that a client pushes into failing (1 worker)', () => {
  let s: Running;
  before(async () => { s = await startSpindle([NODE_APP, ...base, '--processes', '1']); });
  after(async () => { await s?.stop(); });

  test('an invalid statusMessage, and a Trailer then a throw: 500, and the worker and its other requests live on', async () => {
    const slow = get(`${s.url}/slow?ms=1500`);
    await s.waitForLog((l) => l.msg === 'app: slow request started', 5000, 'the slow request in flight');
    const msg = await get(`${s.url}/msg?v=a%0D%0Ab`);
    assert.equal(msg.status, 500, msg.body.toString());
    const trailer = await get(`${s.url}/trailer`);
    assert.equal(trailer.status, 500, trailer.body.toString());
    assert.equal(trailer.headers.trailer, undefined, "the app's half-built headers are not sent");
    const r = await slow;
    assert.equal(r.status, 200, 'the request in flight meanwhile is answered');
    assert.equal(r.body.toString(), 'slow done\n');
    assert.equal((await get(`${s.url}/x`)).status, 200);
    assert.deepEqual(died(s), [], 'no worker died');
    assert.equal(s.lines.filter((l) => l.event === 'APP_ERROR').length, 2);
  });

  test('a Host that is not a host[:port] is refused (400, BAD_HOST) before the app', async () => {
    const reply = await rawGet(s.url, '/seen', 'Host: a\\admin\r\n');
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.match(reply, /not a valid host\[:port\]/);
    await s.waitForLog(byEvent('BAD_HOST'), 5000, 'the BAD_HOST line');
  });

  test('OPTIONS * reaches a Node app as *, as node:http gives it', async () => {
    const reply = await raw(s.url, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 200 /);
    assert.match(reply, /\r\n\r\nhello \*\n$/);
  });

  test('request smuggling shapes (Content-Length with Transfer-Encoding, two lengths, folded or malformed headers) are refused 400 alone: what follows them is never served', async () => {
    const next = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
    const shapes: Record<string, string> = {
      'Content-Length and Transfer-Encoding': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'two Content-Lengths': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
      'Transfer-Encoding not ending in chunked': 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
      'a folded header line': 'GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n',
      'a space before the colon': 'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
      'bare LF line ends': 'GET / HTTP/1.1\nHost: x\n\n',
      'two Host headers': 'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
    };
    for (const [shape, request] of Object.entries(shapes)) {
      const reply = await raw(s.url, request + next, 5000);
      assert.equal(reply.match(/HTTP\/1\.1 \d{3} /g)?.join(), 'HTTP/1.1 400 ', `${shape}: one answer, a 400: ${JSON.stringify(reply.slice(0, 200))}`);
    }
    assert.deepEqual(died(s), []);
    assert.equal((await get(`${s.url}/`)).status, 200);
  });

  test('Connection: close followed by more bytes: the response is delivered, the bytes ignored', async () => {
    const reply = await rawGet(s.url, '/slow?ms=200', 'Host: x\r\n', 'GET /seen HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 200 /);
    assert.match(reply, /slow done\n$/);
    assert.doesNotMatch(reply, /HTTP\/1\.1 400/);
  });
});

describe('a fetch app (1 worker, buffer-size 64k)', () => {
  let s: Running;
  before(async () => { s = await startSpindle([FETCH_APP, ...base, '--processes', '1', '--buffer-size', '64k']); });
  after(async () => { await s?.stop(); });

  test('Host headers that would end the authority are refused (400, BAD_HOST); valid ones reach the app', async () => {
    for (const host of ['a\\admin', 'a?', 'a/b', 'a#b', 'user@a', 'a:99999', 'a b']) {
      const reply = await rawGet(s.url, '/public/x', `Host: ${host}\r\n`);
      assert.match(reply, /^HTTP\/1\.1 400 /, `Host: ${host}: ${reply}`);
      assert.doesNotMatch(reply, /"url"/, `Host: ${host} never reaches the app`);
    }
    const two = await rawGet(s.url, '/public/x', 'Host: a\r\nHost: b\r\n');
    assert.match(two, /^HTTP\/1\.1 400 /, 'two Host headers');
    await until(() => s.lines.filter(byEvent('BAD_HOST')).length >= 8, 5000, 'a BAD_HOST line for each');
    for (const [host, url] of [['example.com:8080', 'http://example.com:8080/public/x'], ['[::1]:81', 'http://[::1]:81/public/x'], ['10.0.0.1', 'http://10.0.0.1/public/x']]) {
      const reply = await rawGet(s.url, '/public/x', `Host: ${host}\r\n`);
      assert.match(reply, /^HTTP\/1\.1 200 /, `Host: ${host}`);
      assert.equal(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)).url, url);
    }
  });

  test('OPTIONS * is answered by the server (200, Allow), never given to the app as /*', async () => {
    const reply = await raw(s.url, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 200 /);
    assert.match(reply, /\r\nallow: GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS\r\n/i);
    assert.doesNotMatch(reply, /"url"/);
    const star = await raw(s.url, 'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(star, /^HTTP\/1\.1 400 /, 'the target * with another method');
    await s.waitForLog(byEvent('BAD_TARGET'), 5000, 'the BAD_TARGET line');
  });

  test('CONNECT is answered 405 with Allow (CONNECT_REFUSED), not closed without a word', async () => {
    const reply = await raw(s.url, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 405 /);
    assert.match(reply, /\r\nAllow: GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS\r\n/);
    await s.waitForLog(byEvent('CONNECT_REFUSED'), 5000, 'the CONNECT_REFUSED line');
  });

  test('Connection: close followed by more bytes: the response is delivered, the bytes ignored', async () => {
    const reply = await rawGet(s.url, '/slow?ms=200', 'Host: x\r\n', 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 200 /);
    assert.match(reply, /slow done\n$/);
    assert.doesNotMatch(reply, /HTTP\/1\.1 400/);
  });

  test('more header fields than are kept: 431 (TOO_MANY_HEADERS), not dropped silently', async () => {
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-H${i}: v\r\n`).join('');
    const ok = await rawGet(s.url, '/seen', `Host: x\r\n${fields(1998)}`);
    assert.match(ok, /^HTTP\/1\.1 200 /);
    assert.equal(Object.keys(JSON.parse(ok.slice(ok.indexOf('\r\n\r\n') + 4)).headers).length, 2000, 'every field of 2000 arrives');
    const over = await rawGet(s.url, '/seen', `Host: x\r\n${fields(2500)}`);
    assert.match(over, /^HTTP\/1\.1 431 /);
    // Node 20's parser keeps 2001 and Spindle refuses; Node 24's refuses on its own (HPE_HEADER_OVERFLOW).
    await s.waitForLog((l) => l.status === 431 && (l.event === 'TOO_MANY_HEADERS' || l.event === 'BAD_REQUEST'), 5000, 'the 431 logged');
  });

  test('clients leaving mid-body are logged with a rate limit; clients leaving a stream are not app errors', async () => {
    for (let i = 0; i < 15; i++) {
      await new Promise<void>((resolve) => {
        const c = connect(Number(new URL(s.url).port), '127.0.0.1', () => {
          c.end('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n' + 'a'.repeat(50));
        });
        c.on('error', () => resolve());
        c.on('close', () => resolve());
        c.resume();
      });
    }
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const c = connect(Number(new URL(s.url).port), '127.0.0.1', () => c.write('GET /sse HTTP/1.1\r\nHost: x\r\n\r\n'));
        c.setEncoding('utf8');
        let got = '';
        c.on('data', (d: string) => { got += d; if (got.includes('data: tick')) c.destroy(); });
        c.on('close', () => resolve());
        c.on('error', reject);
      });
    }
    await until(() => s.lines.filter(byEvent('CLIENT_LEFT_MID_REQUEST')).length >= 10, 5000, '10 CLIENT_LEFT_MID_REQUEST lines');
    // A marker after them (the same worker logs in order): nothing more was logged for the 15.
    assert.match(await rawGet(s.url, '/', 'Host: marker?\r\n'), /^HTTP\/1\.1 400 /);
    await s.waitForLog((l) => l.event === 'BAD_HOST' && String(l.reason).includes('marker'), 5000, 'the marker');
    assert.equal(s.lines.filter(byEvent('CLIENT_LEFT_MID_REQUEST')).length, 10, 'at most 10 a window');
    assert.deepEqual(errors(s), [], 'no error-level line');
    assert.equal((await get(`${s.url}/`)).status, 200);
  });
});

describe('uwsgi variables a Node app and a fetch app must never receive', () => {
  for (const [kind, app] of [['Node', NODE_APP], ['fetch', FETCH_APP]] as const) {
    test(`${kind} app: CR/LF/NUL in a value, a header name that is not a token, a bad target: 400 (BAD_UWSGI_REQUEST)`, async () => {
      const s = await startSpindle([app, '--uwsgi-socket', '127.0.0.1:0', '--processes', '1', '--min-worker-lifetime', '0']);
      try {
        const port = Number(new URL(s.addresses.find((a) => a.startsWith('uwsgi://'))!.replace('uwsgi:', 'http:')).port);
        const send = (vars: [string, string][]) => new Promise<string>((resolve, reject) => {
          const c = connect(port, '127.0.0.1', () => c.write(encodeUwsgiPacket(vars)));
          let out = '';
          c.setEncoding('utf8');
          c.on('data', (d: string) => { out += d; });
          c.on('close', () => resolve(out));
          c.on('error', reject);
        });
        const req = (extra: [string, string][], uri = '/seen'): [string, string][] =>
          [['REQUEST_METHOD', 'GET'], ['REQUEST_URI', uri], ['SERVER_PROTOCOL', 'HTTP/1.1'], ['HTTP_HOST', 'h'], ...extra];
        const bad: [string, [string, string][], string?][] = [
          ['CR LF in a header', [['HTTP_X_EVIL', 'a\r\nSet-Cookie: x=1']]],
          ['NUL in a header', [['HTTP_X_EVIL', 'a\0b']]],
          ['a header name that is not a token', [['HTTP_X(EVIL)', 'v']]],
          ['LF in the target', [], '/seen\nx'],
          ['LF in a CGI variable', [['REMOTE_ADDR', '1.2.3.4\nforged']]],
        ];
        for (const [name, extra, uri] of bad) {
          const reply = await send(req(extra, uri));
          assert.match(reply, /^HTTP\/1\.1 400 /, `${name}: ${reply}`);
          assert.doesNotMatch(reply, /"url"/, `${name}: the app never saw it`);
        }
        await until(() => s.lines.filter(byEvent('BAD_UWSGI_REQUEST')).length === bad.length, 5000, 'a BAD_UWSGI_REQUEST line for each');
        const host = await send([['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/seen'], ['SERVER_PROTOCOL', 'HTTP/1.1'], ['HTTP_HOST', 'a\\admin']]);
        assert.match(host, /^HTTP\/1\.1 400 /, 'a Host that is not a host[:port], from a uwsgi socket too');
        await s.waitForLog(byEvent('BAD_HOST'), 5000, 'the BAD_HOST line');
        assert.equal(s.lines.filter((l) => l.event === 'APP_ERROR').length, 0);
        const ok = await send(req([['HTTP_X_FINE', 'tab\there, and \xe9']]));
        assert.match(ok, /^HTTP\/1\.1 200 /);
      } finally {
        await s.stop();
      }
    });
  }
});

test('out of file descriptors (ulimit -n 256, 400 half-open connections): no worker dies, the server serves', async () => {
  const s = await startSpindle([FETCH_APP, ...base, '--processes', '2'], { maxFiles: 256 });
  const socks: ReturnType<typeof connect>[] = [];
  try {
    const port = Number(new URL(s.url).port);
    const slow = get(`${s.url}/slow?ms=2000`);
    for (let i = 0; i < 400; i++) {
      const c = connect(port, '127.0.0.1', () => c.write('GET / HTTP/1.1\r\nHost: x\r\n'));
      c.on('error', () => {});
      socks.push(c);
    }
    const fds = () => readdirSync(`/proc/${s.serverPid}/fd`).length;
    await until(() => fds() >= 250, 10000, 'the process at its descriptor limit');
    // At the limit, every connection sends garbage: the worker has a bad request to log.
    for (const c of socks) c.write('\0 garbage\r\n\r\n');
    await s.waitForLog((l) => l.event === 'BAD_REQUEST' || l.event === 'WORKER_DIED', 10000, 'a bad request logged');
    for (const c of socks) c.destroy();
    const r = await slow;
    assert.equal(r.status, 200, `the request in flight: ${r.body.toString()}`);
    await until(async () => (await get(`${s.url}/x`).catch(() => ({ status: 0 }))).status === 200, 10000, 'a fresh request served');
    assert.deepEqual(died(s), [], 'no worker died');
    // nor the process (its RSS check read /proc at the limit and threw EMFILE): the parent would restart it
    assert.deepEqual(s.lines.filter((l) => l.event === 'SERVER_CRASHED'), [], 'the server process did not die');
  } finally {
    for (const c of socks) c.destroy();
    await s.stop();
  }
});

test('a worker whose logger modules cannot be loaded (EMFILE) still logs its line, and the call does not throw', async () => {
  // The logger module alone, where no node_modules can be found: requiring pino fails as it does
  // when the process is out of descriptors.
  const dir = mkdtempSync(join(tmpdir(), 'spindle-log-'));
  try {
    copyFileSync(fileURLToPath(new URL('../src/log/logger.js', import.meta.url)), join(dir, 'logger.mjs'));
    const { createLazyLogger } = await import(pathToFileURL(join(dir, 'logger.mjs')).href) as typeof import('../src/log/logger.js');
    const out = join(dir, 'out.log');
    const fd = openSync(out, 'w');
    try {
      const log = createLazyLogger({ level: 'info', format: 'json', fd, base: { wid: 3 } });
      log.debug({ event: 'WORKER_READY' }, 'below the level');
      log.warn({ event: 'BAD_REQUEST', err: new Error('boom') }, 'bad request');
    } finally {
      closeSync(fd);
    }
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogLine);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 'warn');
    assert.equal(lines[0]!.event, 'BAD_REQUEST');
    assert.equal(lines[0]!.wid, 3);
    assert.equal(lines[0]!.msg, 'bad request');
    assert.equal((lines[0]!.err as { message: string }).message, 'boom');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stats: a request in flight shows no query string and no header value', async () => {
  const s = await startSpindle([FETCH_APP, ...base, '--processes', '1', '--stats', '127.0.0.1:0']);
  try {
    const addr = s.lines.find((l) => l.event === 'SERVING')!.stats as string;
    const slow = get(`${s.url}/slow?ms=3000&token=QSECRET`, { headers: { 'x-api-key': 'HSECRET', authorization: 'Bearer ASECRET' } });
    const doc = await until(async () => {
      const text = await rawStats(addr);
      return text.includes('"in_request": 1') ? text : null;
    }, 10000, 'the request in flight in the stats');
    assert.doesNotMatch(doc, /SECRET/);
    assert.equal((await slow).status, 200);
  } finally {
    await s.stop();
  }
});
