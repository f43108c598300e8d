// The uwsgi protocol front: the packet parser with hand-built packets, then the real CLI with a
// uwsgi-socket on TCP and on a UNIX socket, fed good and malformed packets.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseUwsgiPacket, requestFromVars, encodeUwsgiPacket, HTTP_ON_UWSGI_DATASIZE,
} from '../src/front/uwsgi-listener.js';
import { startSpindle, fixture, until, type Running } from './helpers/spindle.js';

const GET_VARS: [string, string][] = [
  ['QUERY_STRING', 'a=1'], ['REQUEST_METHOD', 'GET'], ['CONTENT_TYPE', ''], ['CONTENT_LENGTH', ''],
  ['REQUEST_URI', '/seen?a=1'], ['PATH_INFO', '/seen'], ['SERVER_PROTOCOL', 'HTTP/1.1'],
  ['REMOTE_ADDR', '203.0.113.7'], ['REMOTE_PORT', '51234'], ['SERVER_PORT', '80'], ['SERVER_NAME', 'example.test'],
  ['HTTP_HOST', 'example.test'], ['HTTP_X_REQUEST_ID', 'abc-123'], ['HTTP_ACCEPT', '*/*'],
];

/** A vars block written by hand, so malformed ones can be made. */
function rawPacket(modifier1: number, datasize: number, vars: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = modifier1;
  h.writeUInt16LE(datasize, 1);
  return Buffer.concat([h, vars]);
}
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };

describe('uwsgi packet parser', () => {
  test('a good packet: vars in order, size, modifiers', () => {
    const buf = encodeUwsgiPacket(GET_VARS);
    const r = parseUwsgiPacket(Buffer.concat([buf, Buffer.from('BODY')]), 4096);
    assert.equal(r.kind, 'ok');
    if (r.kind !== 'ok') return;
    assert.equal(r.packet.size, buf.length);
    assert.equal(r.packet.modifier1, 0);
    assert.deepEqual(r.packet.vars, GET_VARS);
  });

  test('every prefix of a good packet asks for more', () => {
    const buf = encodeUwsgiPacket(GET_VARS);
    for (let n = 0; n < buf.length; n++) assert.equal(parseUwsgiPacket(buf.subarray(0, n), 4096).kind, 'more', `prefix ${n}`);
  });

  test('an empty value, also at the end, is fine', () => {
    const r = parseUwsgiPacket(encodeUwsgiPacket([['A', ''], ['B', 'x'], ['C', '']]), 4096);
    assert.equal(r.kind, 'ok');
    if (r.kind === 'ok') assert.deepEqual(r.packet.vars, [['A', ''], ['B', 'x'], ['C', '']]);
  });

  test('datasize larger than buffer-size: 431 naming both sizes', () => {
    const r = parseUwsgiPacket(rawPacket(0, 5000, Buffer.alloc(0)), 4096);
    assert.equal(r.kind, 'error');
    if (r.kind !== 'error') return;
    assert.equal(r.status, 431);
    assert.match(r.reason, /invalid request block size: 5000 \(max 4096\)/);
    assert.match(r.reason, /buffer-size/);
  });

  test('HTTP sent to a uwsgi socket is recognised (datasize 21573)', () => {
    const r = parseUwsgiPacket(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 65535);
    assert.equal(r.kind, 'error');
    if (r.kind !== 'error') return;
    assert.equal(r.status, 400);
    assert.match(r.reason, new RegExp(`HTTP request was sent to a uwsgi socket \\(datasize ${HTTP_ON_UWSGI_DATASIZE}\\)`));
    assert.match(r.reason, /http-socket/);
  });

  test('truncated vars: a value running past the block', () => {
    const vars = Buffer.concat([u16(3), Buffer.from('KEY'), u16(50), Buffer.from('short')]);
    const r = parseUwsgiPacket(rawPacket(0, vars.length, vars), 4096);
    assert.equal(r.kind, 'error');
    if (r.kind === 'error') assert.match(r.reason, /invalid uwsgi request \(current strsize: \d+\).*value of KEY/);
  });

  test('truncated vars: a key size cut in half', () => {
    const vars = Buffer.concat([u16(1), Buffer.from('A'), u16(1), Buffer.from('b'), Buffer.from([7])]);
    const r = parseUwsgiPacket(rawPacket(0, vars.length, vars), 4096);
    assert.equal(r.kind, 'error');
    if (r.kind === 'error') assert.match(r.reason, /invalid uwsgi request.*key size/);
  });

  test('an empty key is rejected', () => {
    const vars = Buffer.concat([u16(0), u16(1), Buffer.from('x')]);
    const r = parseUwsgiPacket(rawPacket(0, vars.length, vars), 4096);
    assert.equal(r.kind, 'error');
    if (r.kind === 'error') assert.match(r.reason, /uwsgi key cannot be null/);
  });

  test('an unknown modifier1 is rejected', () => {
    const r = parseUwsgiPacket(encodeUwsgiPacket(GET_VARS, { modifier1: 5 }), 4096);
    assert.equal(r.kind, 'error');
    if (r.kind === 'error') assert.match(r.reason, /unavailable modifier requested: 5/);
  });
});

describe('uwsgi vars → request head', () => {
  test('method, URL, version, headers, client address', () => {
    const h = requestFromVars(GET_VARS);
    assert.ok(!('error' in h));
    assert.equal(h.method, 'GET');
    assert.equal(h.url, '/seen?a=1');
    assert.equal(h.httpVersion, '1.1');
    assert.equal(h.remoteAddress, '203.0.113.7');
    assert.equal(h.remotePort, 51234);
    assert.equal(h.contentLength, 0);
    assert.deepEqual(h.rawHeaders, ['host', 'example.test', 'x-request-id', 'abc-123', 'accept', '*/*']);
  });

  test('PATH_INFO + QUERY_STRING without REQUEST_URI; Host from SERVER_NAME; body headers', () => {
    const h = requestFromVars([['REQUEST_METHOD', 'post'], ['PATH_INFO', '/p'], ['QUERY_STRING', 'x=1'], ['SERVER_NAME', 'srv'],
      ['SERVER_PORT', '8080'], ['CONTENT_LENGTH', '5'], ['CONTENT_TYPE', 'text/plain'], ['HTTP_TRANSFER_ENCODING', 'chunked']]);
    assert.ok(!('error' in h));
    assert.equal(h.method, 'POST');
    assert.equal(h.url, '/p?x=1');
    assert.equal(h.httpVersion, '1.0');
    assert.equal(h.contentLength, 5);
    assert.deepEqual(h.rawHeaders, ['content-type', 'text/plain', 'content-length', '5', 'host', 'srv:8080']);
  });

  test('UWSGI_* variables are listed as ignored and change nothing', () => {
    const h = requestFromVars([...GET_VARS, ['UWSGI_FILE', '/tmp/evil.py'], ['UWSGI_CHDIR', '/']]);
    assert.ok(!('error' in h));
    assert.deepEqual(h.ignored, ['UWSGI_FILE', 'UWSGI_CHDIR']);
    assert.equal(h.url, '/seen?a=1');
  });

  test('a CONTENT_LENGTH that is not a number is an error', () => {
    const h = requestFromVars([['CONTENT_LENGTH', '12abc']]);
    assert.ok('error' in h);
    assert.match(h.error, /invalid CONTENT_LENGTH '12abc'/);
  });
});

/** Sends bytes (in pieces) and collects the reply until the server closes. */
function exchange(where: { port: number } | { path: string }, pieces: Buffer[], timeoutMs = 10000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = 'port' in where ? connect({ host: '127.0.0.1', port: where.port }) : connect({ path: where.path });
    const out: Buffer[] = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('no close from the server in time')); }, timeoutMs);
    sock.on('data', (d: Buffer) => out.push(d));
    sock.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(out).toString('latin1')); });
    sock.on('error', () => { /* a reset after the reply: close follows */ });
    sock.on('connect', async () => {
      for (const p of pieces) {
        sock.write(p);
        await new Promise((r) => setImmediate(r));
      }
    });
  });
}

const bodyOf = (reply: string) => reply.slice(reply.indexOf('\r\n\r\n') + 4);

describe('uwsgi-socket through the CLI', () => {
  let s: Running;
  let dir: string;
  let port: number;
  let sock: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spindle-uwsgi-'));
    sock = join(dir, 'app.sock');
    s = await startSpindle([fixture('uwsgi/app.mjs'), '--uwsgi-socket', ':0', '--socket', sock, '--chmod-socket', '660',
      '--processes', '1', '--buffer-size', '4k', '--limit-post', '64k']);
    const tcp = s.addresses.find((a) => a.startsWith('uwsgi://'));
    assert.ok(tcp, `a uwsgi address in ${s.addresses.join(', ')}`);
    port = Number(new URL(tcp).port);
  });
  after(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("':port' binds loopback, a UNIX socket gets chmod-socket, and no HTTP listener is opened", () => {
    assert.ok(s.addresses.includes(`uwsgi://127.0.0.1:${port}`), s.addresses.join(', '));
    assert.ok(s.addresses.includes(`uwsgi+unix:${sock}`), s.addresses.join(', '));
    assert.equal(s.addresses.filter((a) => a.startsWith('http')).length, 0);
    assert.equal(statSync(sock).mode & 0o777, 0o660);
  });

  test('GET: method, URL, headers reach the app; plain HTTP reply; connection closed', async () => {
    const reply = await exchange({ port }, [encodeUwsgiPacket(GET_VARS)]);
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(reply, /\r\nConnection: close\r\n/i);
    const seen = JSON.parse(bodyOf(reply));
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, 'http://example.test/seen?a=1');
    assert.equal(seen.headers['x-request-id'], 'abc-123');
  });

  test('POST: body sent in pieces, after the vars and split inside them', async () => {
    const body = Buffer.from('name=spindle&x=' + 'y'.repeat(3000));
    const packet = Buffer.concat([encodeUwsgiPacket([['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/seen'], ['SERVER_PROTOCOL', 'HTTP/1.1'],
      ['CONTENT_TYPE', 'application/x-www-form-urlencoded'], ['CONTENT_LENGTH', String(body.length)], ['HTTP_HOST', 'h']]), body]);
    const reply = await exchange({ path: sock }, [packet.subarray(0, 10), packet.subarray(10, 200), packet.subarray(200, 1000), packet.subarray(1000)]);
    const seen = JSON.parse(bodyOf(reply));
    assert.equal(seen.method, 'POST');
    assert.equal(seen.body, body.toString());
    assert.equal(seen.headers['content-type'], 'application/x-www-form-urlencoded');
  });

  test('status codes and limit-post apply as on HTTP', async () => {
    const reply = await exchange({ port }, [encodeUwsgiPacket([['REQUEST_URI', '/status?code=503'], ['SERVER_PROTOCOL', 'HTTP/1.1']])]);
    assert.match(reply, /^HTTP\/1\.1 503 /);
    // The body over limit-post is read and discarded (nginx is sending it), then the connection closes.
    const big = await exchange({ port }, [encodeUwsgiPacket([['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/seen'], ['CONTENT_LENGTH', String(1 << 20)]]),
      Buffer.alloc(1 << 19), Buffer.alloc(1 << 19)]);
    assert.match(big, /^HTTP\/1\.1 413 /);
  });

  test('a streamed body of unknown length is close-delimited (no chunked framing)', async () => {
    const reply = await exchange({ port }, [encodeUwsgiPacket([['REQUEST_URI', '/stream?n=3'], ['SERVER_PROTOCOL', 'HTTP/1.1']])]);
    assert.doesNotMatch(reply, /transfer-encoding/i);
    assert.equal(bodyOf(reply), 'part 1\npart 2\npart 3\n');
  });

  const bad: [string, Buffer, RegExp, number][] = [
    ['oversized datasize', rawPacket(0, 8000, Buffer.alloc(0)), /invalid request block size: 8000 \(max 4096\)/, 431],
    ['truncated vars', rawPacket(0, 9, Buffer.concat([u16(3), Buffer.from('KEY'), u16(40), Buffer.from('ab')])), /invalid uwsgi request/, 400],
    ['empty key', rawPacket(0, 5, Buffer.concat([u16(0), u16(1), Buffer.from('x')])), /uwsgi key cannot be null/, 400],
    ['HTTP on the uwsgi socket', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /datasize 21573/, 400],
    ['unknown modifier1', encodeUwsgiPacket(GET_VARS, { modifier1: 7 }), /unavailable modifier requested: 7/, 400],
  ];
  for (const [name, packet, why, status] of bad) {
    test(`malformed: ${name} → logged, answered ${status}, closed; the server keeps serving`, async () => {
      const reply = await exchange({ port }, [packet]);
      assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.match(reply, why);
      await s.waitForLog((l) => l.event === 'BAD_UWSGI_REQUEST' && why.test(String(l.reason)), 5000, `the log line for ${name}`);
      const ok = await exchange({ port }, [encodeUwsgiPacket(GET_VARS)]);
      assert.match(ok, /^HTTP\/1\.1 200 /);
    });
  }

  test('UWSGI_* variables are ignored, with one log line', async () => {
    for (let i = 0; i < 2; i++) {
      const reply = await exchange({ port }, [encodeUwsgiPacket([...GET_VARS, ['UWSGI_FILE', '/tmp/evil.py'], ['UWSGI_SETENV', 'A=1']])]);
      assert.match(reply, /^HTTP\/1\.1 200 /);
    }
    await until(() => s.lines.some((l) => l.event === 'UWSGI_VARS_IGNORED'), 5000, 'the ignored-vars warning');
    assert.equal(s.lines.filter((l) => l.event === 'UWSGI_VARS_IGNORED').length, 1);
  });

  test('a peer that goes away mid-body is logged, not fatal', async () => {
    const packet = encodeUwsgiPacket([['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/seen'], ['CONTENT_LENGTH', '100']]);
    await new Promise<void>((resolve) => {
      const c = connect({ host: '127.0.0.1', port }, () => c.end(Buffer.concat([packet, Buffer.from('only part')])));
      c.on('close', () => resolve());
      c.on('error', () => resolve());
      c.resume();
    });
    await s.waitForLog((l) => l.event === 'CLIENT_LEFT_MID_REQUEST', 5000, 'the mid-body close warning');
    assert.match(await exchange({ port }, [encodeUwsgiPacket(GET_VARS)]), /^HTTP\/1\.1 200 /);
  });
});
