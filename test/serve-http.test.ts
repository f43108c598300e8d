// Serving through the real CLI: app forms, bodies, streaming, keep-alive and every HTTP error
// the front answers itself.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { startSpindle, get, raw, fixture, until, type Running } from './helpers/spindle.js';

const APP = fixture('serve/app.mjs');

describe('app forms through the CLI', () => {
  const forms: [string, string][] = [
    ['fetch object', 'apps/fetch-object.mjs'],
    ['Hono', 'apps/hono.mjs'],
    ['Express', 'apps/express.mjs'],
    ['Koa', 'apps/koa.mjs'],
    ['Fastify', 'apps/fastify.mjs'],
    ['plain (req, res)', 'apps/plain.mjs'],
  ];
  for (const [name, file] of forms) {
    test(`${name} app serves /hello`, async () => {
      const s = await startSpindle([fixture(file), '--http-socket', '127.0.0.1:0', '--processes', '1']);
      try {
        const r = await get(`${s.url}/hello`);
        assert.equal(r.status, 200);
        assert.match(r.body.toString(), /^hello /);
        assert.ok(r.headers['x-form'], 'the app set its own header');
      } finally {
        await s.stop();
      }
    });
  }
});

describe('one server: bodies, streaming, keep-alive, errors', () => {
  let s: Running;
  before(async () => {
    s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '2', '--concurrency', '2',
      '--limit-post', '1M', '--buffer-size', '2k', '--socket-timeout', '1', '--disable-logging=false']);
  });
  after(async () => { await s.stop(); });

  test('binary body round trip (all 256 byte values) and a large body', async () => {
    const bytes = Buffer.alloc(256 * 16);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
    const r = await get(`${s.url}/echo`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, bytes);
    const big = Buffer.alloc(900 * 1024, 7);
    big[12345] = 1;
    const r2 = await get(`${s.url}/echo`, { method: 'POST', body: big });
    assert.equal(r2.headers['x-length'], String(big.length));
    assert.ok(r2.body.equals(big));
  });

  test('chunked request body is assembled', async () => {
    const reply = await raw(s.url, 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 200/);
    assert.match(reply, /\r\n\r\nhello world$/);
  });

  test('keep-alive: several requests on one connection; Connection: close honoured', async () => {
    const reply = await raw(s.url, 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(reply.match(/HTTP\/1.1 200 OK/g)?.length, 2);
    assert.match(reply, /connection: close/i);
  });

  test('requests spread across workers', async () => {
    // Bursts of 8 concurrent connections: both workers take part (polled: the kernel decides each one).
    const workers = await until(async () => {
      const replies = await Promise.all(Array.from({ length: 8 }, () => get(`${s.url}/slow?ms=100`)));
      const seen = new Set(replies.map((r) => r.headers['x-worker']));
      return seen.size === 2 ? seen : null;
    }, 10000, 'a burst served by both workers');
    assert.deepEqual([...workers].sort(), ['1', '2']);
  });

  test('malformed request → 400', async () => {
    const reply = await raw(s.url, 'GARBAGE\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 400 Bad Request/);
  });

  test('request head over buffer-size → 431', async () => {
    const reply = await raw(s.url, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4000)}\r\n\r\n`);
    assert.match(reply, /^HTTP\/1.1 431/);
  });

  test('body over limit-post → 413, by Content-Length and by chunked size', async () => {
    const r = await get(`${s.url}/echo`, { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024) }).catch((e: Error) => e);
    // The server answers before reading the body; the client may see the answer or a reset.
    if (!(r instanceof Error)) assert.equal(r.status, 413);
    const reply = await raw(s.url, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 413/);
    assert.match(reply, /limit-post/);
    const chunk = Buffer.alloc(600 * 1024, 97).toString();
    const hex = (600 * 1024).toString(16);
    const chunked = await raw(s.url, `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${hex}\r\n${chunk}\r\n${hex}\r\n${chunk}\r\n0\r\n\r\n`);
    assert.match(chunked, /^HTTP\/1.1 413/);
  });

  test('idle and slow connections are closed after socket-timeout', async () => {
    const idle = await raw(s.url, '', 8000);
    assert.equal(idle, '', 'an idle connection is closed without a word');
    const slowBody = await raw(s.url, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc', 8000);
    assert.match(slowBody, /^HTTP\/1.1 408/);
  });

  test('handler exception → 500, and the worker goes on', async () => {
    const r = await get(`${s.url}/throw`);
    assert.equal(r.status, 500);
    const line = await s.waitForLog((l) => l.event === 'APP_ERROR');
    assert.match(JSON.stringify(line), /boom from the handler/);
    assert.equal((await get(`${s.url}/`)).status, 200);
  });

  test('every request is logged with method, path, status, bytes, duration, worker, client', async () => {
    await get(`${s.url}/status?code=201`);
    const line = await s.waitForLog((l) => l.event === 'REQUEST' && l.path === '/status?code=201');
    assert.equal(line.status, 201);
    assert.equal(line.method, 'GET');
    assert.equal(typeof line.ms, 'number');
    assert.ok(Number(line.bytes) > 0);
    assert.ok(Number(line.worker) >= 1);
    assert.equal(line.client, '127.0.0.1');
  });
});

test('a streamed response arrives incrementally', async () => {
  // One worker taking two requests at once: /open-gate reaches the worker holding the stream.
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '1', '--concurrency', '2']);
  try {
    const agent = new Agent({ keepAlive: false });
    const first = await new Promise<{ text: string; rest: Promise<string> }>((resolve, reject) => {
      const req = request(`${s.url}/gated-sse`, { agent }, (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream');
        let text = '';
        let resolved = false;
        let finish!: (t: string) => void;
        const rest = new Promise<string>((r) => { finish = r; });
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
          if (!resolved && text.includes('first')) { resolved = true; resolve({ text, rest }); }
        });
        res.on('end', () => finish(text));
      });
      req.on('error', reject);
      req.end();
    });
    // 'first' arrived while the app is still waiting on the gate: nothing was buffered to the end.
    assert.ok(!first.text.includes('second'));
    const opened = await get(`${s.url}/open-gate`);
    assert.equal(opened.status, 200);
    const all = await first.rest;
    assert.match(all, /data: first\n\ndata: second\n\n$/);
  } finally {
    await s.stop();
  }
});

test('by default only 4xx and 5xx requests are logged', async () => {
  const s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '1']);
  try {
    await get(`${s.url}/`);
    await get(`${s.url}/nope`);
    await s.waitForLog((l) => l.event === 'REQUEST' && l.status === 404);
    assert.equal(s.lines.filter((l) => l.event === 'REQUEST' && l.status === 200).length, 0);
  } finally {
    await s.stop();
  }
});
