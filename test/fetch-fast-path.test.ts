// Fetch apps' fixed bodies (string, bytes, JSON, none) through the real CLI: the worker's global
// Response is the light one (so the adapter sends the body from its source, in one call, without
// a web stream: the unit side is test/light-response.test.ts), and what the client gets is what
// it got before: status, headers (every Set-Cookie), Content-Length, HEAD and 204 without a body,
// a streamed body still streamed, an invalid Response answered 500, the bytes in the request log.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startSpindle, get, raw, fixture, until, type Running } from './helpers/spindle.js';

const APP = fixture('fetch-fast/app.mjs');
const TEXT = 'héllo ✓';
const ALL_BYTES = Buffer.from(Uint8Array.from({ length: 256 }, (_, i) => i));

describe('fetch fast path', () => {
  let s: Running;
  before(async () => {
    // one worker: the streamed body is released by a second request to the same app
    s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '1', '--disable-logging=false']);
  });
  after(async () => { await s?.stop(); });

  test('the worker\'s Response is the light one (its source is what the adapter sends)', async () => {
    const r = await get(`${s.url}/light`);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body.toString()), { string: true, json: true, instanceOf: true });
  });

  test('a string body: UTF-8, Content-Length in bytes, default and custom headers; the log counts its bytes', async () => {
    const r = await get(`${s.url}/string`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), TEXT);
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(TEXT)));
    assert.equal(r.headers['content-type'], 'text/plain;charset=UTF-8');
    assert.equal(r.headers['x-a'], '1');
    assert.equal(r.headers['transfer-encoding'], undefined);
    const line = await s.waitForLog((l) => l.event === 'REQUEST' && l.path === '/string', 10000, 'the request log line');
    assert.equal(line.bytes, Buffer.byteLength(TEXT));
    assert.equal(line.status, 200);
  });

  test('bytes and an ArrayBuffer', async () => {
    const b = await get(`${s.url}/bytes`);
    assert.equal(b.status, 200);
    assert.deepEqual(b.body, ALL_BYTES);
    assert.equal(b.headers['content-length'], '256');
    assert.equal(b.headers['content-type'], 'application/octet-stream');
    const a = await get(`${s.url}/arraybuffer`);
    assert.equal(a.body.toString(), 'from an ArrayBuffer');
    assert.equal(a.headers['content-type'], undefined, 'undici adds no type for bytes');
  });

  test('Response.json with a status and a header', async () => {
    const r = await get(`${s.url}/json`);
    assert.equal(r.status, 201);
    assert.deepEqual(JSON.parse(r.body.toString()), { ok: true, n: [1, 2] });
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-j'], 'yes');
    assert.equal(r.headers['content-length'], String(r.body.length));
  });

  test('no body: null and empty string give Content-Length 0; 204 has none', async () => {
    for (const path of ['/null', '/empty-string']) {
      const r = await get(`${s.url}${path}`);
      assert.equal(r.status, 200, path);
      assert.equal(r.body.length, 0, path);
      assert.equal(r.headers['content-length'], '0', path);
    }
    const nc = await raw(s.url, 'GET /no-content HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(nc, /^HTTP\/1\.1 204 /);
    assert.match(nc, /\r\nx-empty: 1\r\n/i);
    assert.doesNotMatch(nc, /content-length|transfer-encoding/i);
    assert.ok(nc.endsWith('\r\n\r\n'), 'nothing after the head');
  });

  test('HEAD: the GET\'s headers, no body', async () => {
    const reply = await raw(s.url, 'HEAD /string HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 200 /);
    assert.match(reply, /\r\ncontent-type: text\/plain;charset=UTF-8\r\n/i);
    assert.match(reply, /\r\nx-a: 1\r\n/i);
    assert.ok(reply.endsWith('\r\n\r\n'), 'nothing after the head');
    const json = await raw(s.url, 'HEAD /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(json, /^HTTP\/1\.1 201 /);
    assert.ok(json.endsWith('\r\n\r\n'));
  });

  test('framing headers of the app are dropped; its Connection: close ends the connection after the response', async () => {
    // two pipelined requests: both answered after /framing (kept alive), only the first after /close
    const kept = await raw(s.url, 'GET /framing HTTP/1.1\r\nHost: x\r\n\r\nGET /null HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const [framed] = kept.split(/(?=HTTP\/1\.1 )/);
    assert.match(framed!, /\r\ncontent-length: 6\r\n/i);
    assert.match(framed!, /\r\nx-f: 1\r\n/i);
    assert.doesNotMatch(framed!, /transfer-encoding|keep-alive: timeout=1\r|content-length: 999/i); // (node:http adds its own Keep-Alive)
    assert.ok(framed!.endsWith('\r\n\r\nframed'), framed);
    assert.equal(kept.match(/HTTP\/1\.1 200 /g)?.length, 2, kept);
    const closed = await raw(s.url, 'GET /close HTTP/1.1\r\nHost: x\r\n\r\nGET /null HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(closed, /\r\nconnection: close\r\n/i);
    assert.ok(closed.endsWith('\r\n\r\nclosing'), 'the connection ends after the first response');
    assert.equal(closed.match(/HTTP\/1\.1 /g)?.length, 1, closed);
  });

  test('a header value with CR LF in it (response splitting) is refused: 500, nothing injected', async () => {
    const reply = await raw(s.url, 'GET /inject HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 500 /);
    assert.doesNotMatch(reply, /x-injected/i);
    await s.waitForLog((l) => l.event === 'APP_ERROR' && l.path === '/inject', 10000, 'the app error');
  });

  test('several Set-Cookie headers stay separate; an async Response takes the same path', async () => {
    const r = await get(`${s.url}/cookies`);
    assert.equal(r.status, 202);
    assert.equal(r.body.toString(), 'cookies');
    assert.deepEqual(r.headers['set-cookie'], ['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT', 'c=3']);
    const a = await get(`${s.url}/async`);
    assert.equal(a.body.toString(), 'later');
    assert.equal(a.headers['x-async'], '1');
    assert.equal(a.headers['content-length'], '5');
  });

  test('a streamed body is still streamed: the first chunk arrives before the body is complete', async () => {
    const chunks: string[] = [];
    let headers: Record<string, unknown> = {};
    let ended = false;
    const req = request(`${s.url}/stream`, { agent: false }, (res) => {
      headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (d: string) => chunks.push(d));
      res.on('end', () => { ended = true; });
    });
    req.end();
    try {
      await until(() => chunks.join('').includes('first\n'), 10000, 'the first chunk');
      assert.equal(ended, false);
      assert.equal(headers['transfer-encoding'], 'chunked');
      assert.equal(headers['content-length'], undefined);
      const rel = await get(`${s.url}/release`);
      assert.equal(rel.body.toString(), 'released');
      await until(() => ended, 10000, 'the end of the streamed body');
      assert.equal(chunks.join(''), 'first\nsecond\n');
    } finally {
      req.destroy();
    }
  });

  test('an invalid Response (status 1000) is the app failing: 500, logged with its stack', async () => {
    const r = await get(`${s.url}/bad-status`);
    assert.equal(r.status, 500);
    const line = await s.waitForLog((l) => l.event === 'APP_ERROR' && l.path === '/bad-status', 10000, 'the app error');
    assert.match(JSON.stringify(line.err), /RangeError|200 to 599/);
    const ok = await get(`${s.url}/string`);
    assert.equal(ok.status, 200, 'the worker goes on serving');
  });
});
