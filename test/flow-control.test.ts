// Flow control in the default serving path (each worker accepts and serves its connections),
// through the real CLI and real sockets: streamed responses to clients that do not read
// (backpressure), pipelined requests (socket-timeout while they run, clients that leave, a bound
// per connection), stalled and slow-drip request bodies, and the stats server's connections.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { startSpindle, get, raw, fixture, until, rawStats, type Running, type LogLine } from './helpers/spindle.js';
import { encodeUwsgiPacket } from '../src/front/uwsgi-listener.js';

const FETCH_APP = fixture('flow/fetch-app.mjs');
const NODE_APP = fixture('flow/node-app.mjs');
const APPS = [['fetch', FETCH_APP], ['node', NODE_APP]] as const;
const base = ['--http-socket', '127.0.0.1:0', '--min-worker-lifetime', '0'];

async function withServer(args: string[], fn: (s: Running) => Promise<void>): Promise<void> {
  const s = await startSpindle([...args, ...base]);
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

const port = (address: string): number => Number(new URL(address.replace(/^(uwsgi|tcp):/, 'http:')).port);
const uwsgiAddress = (s: Running): string => s.addresses.find((a) => a.startsWith('uwsgi://'))!;
const statsAddress = (s: Running): string => s.lines.find((l: LogLine) => l.event === 'SERVING')!.stats as string;

/** A raw connection: what it received so far, and whether the server closed it. */
interface Conn { socket: Socket; text: () => string; closed: Promise<void>; isClosed: () => boolean }

function open(p: number, data?: string | Buffer): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: p });
    let out = '';
    let closedNow = false;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => { out += d; });
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => { closedNow = true; r(); }));
    socket.once('connect', () => {
      if (data !== undefined) socket.write(data);
      resolve({ socket, text: () => out, closed, isClosed: () => closedNow });
    });
    socket.once('error', reject);
  });
}

const statuses = (text: string): number[] => [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));

interface Counts { started: number; closed: number; cancelled: number; running: number; maxRunning: number }
async function counts(s: Running): Promise<Counts> {
  return JSON.parse((await get(`${s.url}/count`)).body.toString()) as Counts;
}

describe('a stalled request body (item 6)', () => {
  for (const [kind, app] of APPS) {
    test(`${kind} app, HTTP: 50 of 100 bytes, then nothing: 408 at socket-timeout, logged BODY_TIMEOUT, no harakiri`, () =>
      withServer([app, '--socket-timeout', '1', '--harakiri', '0'], async (s) => {
        const out = await raw(s.url, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n' + 'a'.repeat(50), 8000);
        assert.match(out, /^HTTP\/1\.1 408 /, `answered 408, got: ${JSON.stringify(out.slice(0, 80))}`);
        const line = await s.waitForLog((l) => l.event === 'BODY_TIMEOUT', 5000, 'the BODY_TIMEOUT log line');
        assert.equal(line.path, '/echo');
        assert.equal(s.lines.filter((l) => /HARAKIRI/.test(String(l.event))).length, 0);
        assert.equal((await get(`${s.url}/`)).status, 200, 'the worker serves on');
      }));

    // node:http clears a connection's inactivity timer when a kept-alive request starts: the
    // worker must arm it again for a request that waits on its client (connection-flow.ts).
    test(`${kind} app, HTTP: a kept-alive connection's second request sends 50 of 100 bytes: 408 at socket-timeout, logged BODY_TIMEOUT`, () =>
      withServer([app, '--socket-timeout', '1', '--harakiri', '0'], async (s) => {
        const c = await open(port(s.url), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        try {
          await until(() => statuses(c.text()).length === 1, 5000, 'the first answer');
          c.socket.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n' + 'a'.repeat(50));
          await until(() => c.isClosed(), 8000, 'the server to close the connection');
          assert.deepEqual(statuses(c.text()), [200, 408], c.text());
          const line = await s.waitForLog((l) => l.event === 'BODY_TIMEOUT', 5000, 'the BODY_TIMEOUT log line');
          assert.equal(line.path, '/echo');
        } finally {
          c.socket.destroy();
        }
      }));

    test(`${kind} app, HTTP: a request pipelined behind an answered one sends 50 of 100 bytes: 408 at socket-timeout`, () =>
      withServer([app, '--socket-timeout', '1', '--harakiri', '0'], async (s) => {
        const c = await open(port(s.url), 'GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n' + 'a'.repeat(50));
        try {
          await until(() => c.isClosed(), 8000, 'the server to close the connection');
          assert.deepEqual(statuses(c.text()), [200, 408], c.text());
          await s.waitForLog((l) => l.event === 'BODY_TIMEOUT' && l.path === '/echo', 5000, 'the BODY_TIMEOUT log line');
        } finally {
          c.socket.destroy();
        }
      }));

    // The timer the worker arms on a kept-alive request is an inactivity timer, not a deadline:
    // a body that keeps coming, each byte within socket-timeout, is read whole however long it takes.
    test(`${kind} app, HTTP: a kept-alive connection's second body arrives a byte every 400 ms for 2 s (socket-timeout 1 s): answered 200`, () =>
      withServer([app, '--socket-timeout', '1', '--harakiri', '0'], async (s) => {
        const c = await open(port(s.url), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        try {
          await until(() => statuses(c.text()).length === 1, 5000, 'the first answer');
          c.socket.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n');
          for (let i = 0; i < 5; i++) {
            await new Promise((r) => setTimeout(r, 400)); // the client's pace is the test's subject
            c.socket.write('a');
          }
          await until(() => statuses(c.text()).length === 2, 5000, 'the second answer');
          assert.deepEqual(statuses(c.text()), [200, 200], c.text());
          assert.match(c.text(), /aaaaa$/);
          assert.equal(c.isClosed(), false, 'the connection stays open');
          assert.equal(s.lines.filter((l) => l.event === 'BODY_TIMEOUT').length, 0);
        } finally {
          c.socket.destroy();
        }
      }));

    test(`${kind} app, uwsgi: CONTENT_LENGTH 100 and 50 bytes: 408 at socket-timeout, logged BODY_TIMEOUT`, () =>
      withServer([app, '--uwsgi-socket', '127.0.0.1:0', '--socket-timeout', '1', '--harakiri', '0'], async (s) => {
        const packet = encodeUwsgiPacket([['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/echo'], ['SERVER_PROTOCOL', 'HTTP/1.1'], ['CONTENT_LENGTH', '100'], ['HTTP_HOST', 'x']]);
        const c = await open(port(uwsgiAddress(s)), Buffer.concat([packet, Buffer.alloc(50, 97)]));
        try {
          await Promise.race([c.closed, new Promise((r) => setTimeout(r, 8000))]);
          assert.match(c.text(), /^HTTP\/1\.1 408 /, `answered 408, got: ${JSON.stringify(c.text().slice(0, 80))}`);
          await s.waitForLog((l) => l.event === 'BODY_TIMEOUT', 5000, 'the BODY_TIMEOUT log line');
        } finally {
          c.socket.destroy();
        }
      }));
  }
});

describe('pipelined requests (item 4)', () => {
  for (const [kind, app] of APPS) {
    test(`${kind} app: a pipelined request running past socket-timeout after an earlier one finished is not answered 408`, () =>
      withServer([app, '--socket-timeout', '1'], async (s) => {
        const out = await raw(s.url,
          'GET /slow?ms=10&n=1 HTTP/1.1\r\nHost: x\r\n\r\n' +
          'GET /slow?ms=2500&n=2 HTTP/1.1\r\nHost: x\r\n\r\n' +
          'GET /slow?ms=10&n=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 15000);
        assert.deepEqual(statuses(out), [200, 200, 200], out);
        assert.match(out, /slow 1\n[\s\S]*slow 2\n[\s\S]*slow 3\n/);
      }));

    test(`${kind} app: a client that pipelines 2 requests and leaves: the worker goes idle, no harakiri, a quick stop`, async () => {
      const s = await startSpindle([app, ...base, '--stats', '127.0.0.1:0', '--harakiri', '3', '--worker-reload-mercy', '8']);
      try {
        const c = await open(port(s.url), 'GET /hold HTTP/1.1\r\nHost: x\r\n\r\nGET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
        await until(async () => (await counts(s)).started >= 1, 5000, 'the first request to start');
        c.socket.destroy();
        await until(async () => {
          const d = JSON.parse(await rawStats(statsAddress(s))) as { workers: { in_flight: number }[] };
          return d.workers.every((w) => w.in_flight === 0);
        }, 5000, 'the worker to go idle');
        const stopped = await s.stop('SIGTERM');
        assert.equal(stopped.code, 0);
        assert.equal(s.lines.filter((l) => /HARAKIRI|MERCY_EXPIRED/.test(String(l.event))).length, 0,
          s.lines.map((l) => l.event).join('\n'));
      } finally {
        await s.stop();
      }
    });

    test(`${kind} app: a client's pipelined requests not started when it leaves are never run`, () =>
      withServer([app, '--processes', '1'], async (s) => {
        // One write, so the worker parses all 20 in one go: whatever it starts, it starts at once.
        const c = await open(port(s.url), 'GET /hold HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(20));
        try {
          await until(async () => (await counts(s)).started >= 8, 5000, '8 requests to start');
          assert.equal((await counts(s)).started, 8, 'no more than 8 of the connection are started');
        } finally {
          c.socket.destroy();
        }
        await until(async () => (await counts(s)).closed >= 8, 5000, 'the started requests to see their client leave');
        await get(`${s.url}/release`);
        assert.equal((await counts(s)).started, 8, 'the requests not started when the client left never run');
      }));

    test(`${kind} app: 3,000 pipelined GETs in one write: at most 8 run at once, all answered in order`, () =>
      withServer([app, '--processes', '1'], async (s) => {
        const n = 3000;
        let data = '';
        for (let i = 0; i < n; i++) data += `GET /slow?ms=${i % 3}&n=${i} HTTP/1.1\r\nHost: x\r\n${i === n - 1 ? 'Connection: close\r\n' : ''}\r\n`;
        const out = await raw(s.url, data, 60000);
        const order = [...out.matchAll(/slow (\d+)\n/g)].map((m) => Number(m[1]));
        assert.deepEqual(order, Array.from({ length: n }, (_, i) => i));
        assert.deepEqual(new Set(statuses(out)), new Set([200]));
        const { maxRunning } = await counts(s);
        assert.ok(maxRunning <= 8, `at most 8 at once (saw ${maxRunning})`);
      }));

    test(`${kind} app: 500 pipelined POSTs with bodies in one write: each body reaches its request, answers in order`, () =>
      withServer([app, '--processes', '1'], async (s) => {
        const n = 500;
        let data = '';
        for (let i = 0; i < n; i++) {
          const body = `body-${String(i).padStart(5, '0')}`;
          data += `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n${i === n - 1 ? 'Connection: close\r\n' : ''}\r\n${body}`;
        }
        const out = await raw(s.url, data, 60000);
        assert.deepEqual(new Set(statuses(out)), new Set([200]));
        assert.deepEqual([...out.matchAll(/body-(\d+)/g)].map((m) => Number(m[1])), Array.from({ length: n }, (_, i) => i));
      }));

    test(`${kind} app: a pipelining client does not hold up another client (concurrency 2)`, () =>
      withServer([app, '--processes', '1', '--concurrency', '2'], async (s) => {
        const n = 200;
        const a = await open(port(s.url), 'GET /slow?ms=20 HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(n));
        try {
          await until(async () => (await counts(s)).maxRunning >= 1, 5000, 'the pipelined requests to start');
          const b = await get(`${s.url}/slow?ms=1&n=b`);
          assert.equal(b.status, 200);
          const answeredBefore = statuses(a.text()).length;
          assert.ok(answeredBefore < n / 2, `the other client was answered after ${answeredBefore} of the ${n} pipelined requests`);
        } finally {
          a.socket.destroy();
        }
      }));
  }
});

/** VmRSS of a process, in MB. */
const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** `n` clients that ask for 200 MB each and stop reading after the first bytes. */
async function nonReaders(p: number, request: string | Buffer, n = 8): Promise<Socket[]> {
  return Promise.all(Array.from({ length: n }, () => new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: p }, () => socket.write(request));
    socket.once('data', () => { socket.pause(); resolve(socket); });
    socket.once('error', reject);
  })));
}

describe('streamed responses to clients that do not read (item 3)', () => {
  const uwsgiStream = encodeUwsgiPacket([['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/stream?mb=200'], ['SERVER_PROTOCOL', 'HTTP/1.1'], ['HTTP_HOST', 'x']]);
  const cases = [
    ['fetch', FETCH_APP, 'HTTP', 'GET /stream?mb=200 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['fetch', FETCH_APP, 'uwsgi', uwsgiStream],
    ['node', NODE_APP, 'HTTP', 'GET /stream?mb=200 HTTP/1.1\r\nHost: x\r\n\r\n'],
    // a chunked request body: the Node app runs on the adapter's request and response
    ['node', NODE_APP, 'HTTP, chunked request', 'POST /stream?mb=200 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n'],
    ['node', NODE_APP, 'uwsgi', uwsgiStream],
  ] as const;
  for (const [kind, app, via, request] of cases) {
    test(`${kind} app, ${via}: 8 clients not reading 200 MB each keep the RSS within 64 MB; their streams are cancelled when they leave`, () =>
      withServer([app, '--uwsgi-socket', '127.0.0.1:0', '--processes', '1', '--harakiri', '0'], async (s) => {
        const p = via === 'uwsgi' ? port(uwsgiAddress(s)) : port(s.url);
        // warm up (the first streamed response loads what streaming needs)
        assert.equal((await get(`${s.url}/stream?mb=4`)).body.length, 4 * 1024 * 1024);
        const start = rssMb(s.serverPid);
        const clients = await nonReaders(p, request);
        let peak = start;
        try {
          // A bounded measurement window: without backpressure the RSS grows by 100+ MB a second.
          for (let i = 0; i < 12; i++) {
            await new Promise((r) => setTimeout(r, 250));
            peak = Math.max(peak, rssMb(s.serverPid));
          }
        } finally {
          for (const c of clients) c.destroy();
        }
        assert.ok(peak - start < 64, `RSS from ${start.toFixed(0)} MB to ${peak.toFixed(0)} MB`);
        await until(async () => (await counts(s)).cancelled >= 8, 10000, 'the 8 streams to be cancelled');
        assert.equal((await get(`${s.url}/`)).status, 200);
      }));
  }

  for (const [kind, app, via, request] of cases.filter(([, , v]) => v !== 'HTTP, chunked request')) {
    test(`${kind} app, ${via}: a client that stops reading is disconnected at socket-timeout (SEND_TIMEOUT), its stream cancelled`, () =>
      withServer([app, '--uwsgi-socket', '127.0.0.1:0', '--processes', '1', '--socket-timeout', '1', '--harakiri', '0'], async (s) => {
        const [client] = await nonReaders(via === 'uwsgi' ? port(uwsgiAddress(s)) : port(s.url), request, 1);
        try {
          await until(async () => (await counts(s)).cancelled >= 1, 10000, 'the stream to be cancelled');
          await s.waitForLog((l) => l.event === 'SEND_TIMEOUT', 5000, 'the SEND_TIMEOUT log line');
        } finally {
          client!.destroy();
        }
      }));
  }

  for (const [kind, app] of APPS) {
    test(`${kind} app, HTTP: a kept-alive connection's second request is a stream its client stops reading: disconnected at socket-timeout (SEND_TIMEOUT)`, () =>
      withServer([app, '--processes', '1', '--socket-timeout', '1', '--harakiri', '0'], async (s) => {
        const c = await open(port(s.url), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        try {
          await until(() => statuses(c.text()).length === 1, 5000, 'the first answer');
          c.socket.write('GET /stream?mb=200 HTTP/1.1\r\nHost: x\r\n\r\n');
          await until(() => statuses(c.text()).length === 2, 5000, 'the stream to begin');
          c.socket.pause();
          await until(async () => (await counts(s)).cancelled >= 1, 10000, 'the stream to be cancelled');
          await s.waitForLog((l) => l.event === 'SEND_TIMEOUT', 5000, 'the SEND_TIMEOUT log line');
        } finally {
          c.socket.destroy();
        }
      }));
  }

  test('node app, uwsgi: a large streamed response to a client that reads is delivered whole', () =>
    withServer([NODE_APP, '--uwsgi-socket', '127.0.0.1:0'], async (s) => {
      const c = await open(port(uwsgiAddress(s)), encodeUwsgiPacket([['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/stream?mb=16'], ['SERVER_PROTOCOL', 'HTTP/1.1']]));
      await Promise.race([c.closed, new Promise((r) => setTimeout(r, 20000))]);
      c.socket.destroy();
      const text = c.text();
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      assert.equal(body.length, 16 * 1024 * 1024, 'the whole body, then the connection closed');
    }));
});

/** Sends `head`, then `data` one byte every `everyMs` until it is all sent or the server closes; resolves with what came back. */
function drip(p: number, head: Buffer | string, data: Buffer, everyMs: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: p }, () => socket.write(head));
    let out = '';
    let at = 0;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => { out += d; });
    socket.on('error', () => {});
    const timer = setInterval(() => { if (at < data.length && socket.writable) socket.write(data.subarray(at, ++at)); }, everyMs);
    const stop = setTimeout(() => socket.destroy(), timeoutMs);
    socket.once('close', () => { clearInterval(timer); clearTimeout(stop); resolve(out); });
  });
}

describe('slow-drip requests have an overall deadline (item 8)', () => {
  for (const [kind, app] of APPS) {
    test(`${kind} app, HTTP: a body at 4 bytes a second: 408 at request-read-timeout, logged REQUEST_READ_TIMEOUT`, () =>
      withServer([app, '--socket-timeout', '1', '--request-read-timeout', '2', '--harakiri', '0'], async (s) => {
        const out = await drip(port(s.url), 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', Buffer.alloc(100, 97), 250, 10000);
        assert.match(out, /^HTTP\/1\.1 408 /, `answered 408, got: ${JSON.stringify(out.slice(0, 80))}`);
        const line = await s.waitForLog((l) => l.event === 'REQUEST_READ_TIMEOUT', 5000, 'the REQUEST_READ_TIMEOUT log line');
        assert.equal(line.path, '/echo');
        assert.equal((await get(`${s.url}/`)).status, 200, 'the worker serves on');
      }));

    test(`${kind} app, uwsgi: a body at 4 bytes a second: 408 at request-read-timeout, logged REQUEST_READ_TIMEOUT`, () =>
      withServer([app, '--uwsgi-socket', '127.0.0.1:0', '--socket-timeout', '1', '--request-read-timeout', '2', '--harakiri', '0'], async (s) => {
        const packet = encodeUwsgiPacket([['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/echo'], ['SERVER_PROTOCOL', 'HTTP/1.1'], ['CONTENT_LENGTH', '100']]);
        const out = await drip(port(uwsgiAddress(s)), packet, Buffer.alloc(100, 97), 250, 10000);
        assert.match(out, /^HTTP\/1\.1 408 /, `answered 408, got: ${JSON.stringify(out.slice(0, 80))}`);
        await s.waitForLog((l) => l.event === 'REQUEST_READ_TIMEOUT' && l.path === '/echo', 5000, 'the REQUEST_READ_TIMEOUT log line');
      }));
  }

  test('uwsgi: a head at 4 bytes a second: 408 at socket-timeout, logged HEAD_TIMEOUT', () =>
    withServer([FETCH_APP, '--uwsgi-socket', '127.0.0.1:0', '--socket-timeout', '1'], async (s) => {
      const packet = encodeUwsgiPacket([['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/'], ['SERVER_PROTOCOL', 'HTTP/1.1'], ['HTTP_X_PAD', 'p'.repeat(60)]]);
      const out = await drip(port(uwsgiAddress(s)), '', packet, 250, 10000);
      assert.match(out, /^HTTP\/1\.1 408 /, `answered 408, got: ${JSON.stringify(out.slice(0, 80))}`);
      await s.waitForLog((l) => l.event === 'HEAD_TIMEOUT', 5000, 'the HEAD_TIMEOUT log line');
    }));

  // A first head that stops half-way meets the connection's inactivity timer before node:http's
  // headersTimeout; a later one (kept-alive) meets headersTimeout. Both are answered alike, and the
  // client's close after our 408 is not logged as a client that left mid-request.
  for (const [which, first] of [['first', ''], ['kept-alive second', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n']] as const) {
    test(`HTTP: a ${which} request's head stops half-way: 408 at socket-timeout, logged HEAD_TIMEOUT only`, () =>
      withServer([NODE_APP, '--socket-timeout', '1'], async (s) => {
        const c = await open(port(s.url), first + 'GET /next HTTP/1.1\r\nHo');
        try {
          await until(() => c.isClosed(), 8000, 'the server to close the connection');
          assert.deepEqual(statuses(c.text()), first ? [200, 408] : [408], c.text());
          await s.waitForLog((l) => l.event === 'HEAD_TIMEOUT', 5000, 'the HEAD_TIMEOUT log line');
          assert.equal((await get(`${s.url}/`)).status, 200, 'the worker serves on');
          assert.equal(s.lines.filter((l) => l.event === 'CLIENT_LEFT_MID_REQUEST').length, 0, 'our own close is not the client leaving');
        } finally {
          c.socket.destroy();
        }
      }));
  }

  test('HTTP: a head at 4 bytes a second: 408 at socket-timeout, logged HEAD_TIMEOUT', () =>
    withServer([FETCH_APP, '--socket-timeout', '1'], async (s) => {
      const out = await drip(port(s.url), '', Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(60)}\r\n\r\n`), 250, 10000);
      assert.match(out, /^HTTP\/1\.1 408 /, `answered 408, got: ${JSON.stringify(out.slice(0, 80))}`);
      await s.waitForLog((l) => l.event === 'HEAD_TIMEOUT', 5000, 'the HEAD_TIMEOUT log line');
    }));
});

/**
 * The stats connections the server process holds: its descriptors that are TCP sockets on the
 * stats port, other than the listening one (matched by inode against /proc/net/tcp). Counting all
 * its descriptors instead also counted whatever else the process opened meanwhile.
 */
function statsConnections(pid: number, statsPort: number): number {
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // local address (hex ip:port), state (0A = listening), inode
    if (f.length > 9 && parseInt(f[1]!.split(':')[1]!, 16) === statsPort && f[3] !== '0A') inodes.add(f[9]!);
  }
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try { target = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; } // closed meanwhile
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m && inodes.has(m[1]!)) n++;
  }
  return n;
}

/** Polls until the server holds no stats connection; the failure says how many it still held. */
async function statsConnectionsClosed(pid: number, statsPort: number, what: string): Promise<void> {
  try {
    await until(() => statsConnections(pid, statsPort) === 0, 15000, what);
  } catch (err) {
    throw new Error(`${(err as Error).message} (still open: ${statsConnections(pid, statsPort)})`);
  }
}

describe('the stats server bounds its connections (item 8)', () => {
  test('raw stats: 100 clients that never close: at most 64 are served at once, and the rest closed; all time out', () =>
    withServer([FETCH_APP, '--stats', '127.0.0.1:0'], async (s) => {
      const pid = s.serverPid; // the server process (s.proc is the supervising parent)
      const p = port(statsAddress(s));
      assert.ok((await rawStats(statsAddress(s))).includes('"workers"'));
      const clients = await Promise.all(Array.from({ length: 100 }, () => new Promise<{ socket: Socket; served: Promise<boolean> }>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port: p, allowHalfOpen: true }); // never closes its side
        let got = '';
        socket.setEncoding('utf8');
        socket.on('data', (d: string) => { got += d; });
        const served = new Promise<boolean>((r) => { socket.once('end', () => r(got.length > 0)); socket.once('close', () => r(got.length > 0)); });
        socket.once('connect', () => resolve({ socket, served }));
        socket.once('error', reject);
      })));
      try {
        const served = (await Promise.all(clients.map((c) => c.served))).filter(Boolean).length;
        assert.ok(served > 0 && served <= 64, `${served} of 100 were served (the cap is 64)`);
        assert.ok(statsConnections(pid, p) > 0, 'the served connections are still open (the count sees them)');
        await statsConnectionsClosed(pid, p, 'the stats connections to time out');
        await s.waitForLog((l) => l.event === 'STATS_CONNECTIONS_FULL', 5000, 'the STATS_CONNECTIONS_FULL log line');
      } finally {
        for (const c of clients) c.socket.destroy();
      }
    }));

  test('raw stats: a client that keeps its side open and keeps sending after the answer is still closed (an absolute limit, not an idle one)', () =>
    withServer([FETCH_APP, '--stats', '127.0.0.1:0'], async (s) => {
      const socket = connect({ host: '127.0.0.1', port: port(statsAddress(s)), allowHalfOpen: true });
      let got = '';
      let closed = false;
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => { got += d; });
      socket.on('error', () => {});
      socket.once('close', () => { closed = true; });
      // activity that would re-arm an idle timer forever
      const chatter = setInterval(() => { if (!socket.destroyed) socket.write('x'); }, 200);
      try {
        await until(() => closed, 15000, 'the server to close the chattering stats connection');
        assert.ok(got.includes('"workers"'), `the client got the document first: ${got.slice(0, 80)}`);
      } finally {
        clearInterval(chatter);
        socket.destroy();
      }
    }));

  test('stats-http: 100 clients that connect and send nothing: at most 64 open at once; all time out', () =>
    withServer([FETCH_APP, '--stats', '127.0.0.1:0', '--stats-http'], async (s) => {
      const pid = s.serverPid; // the server process (s.proc is the supervising parent)
      const addr = statsAddress(s);
      assert.equal((await get(`${addr}/health/live`)).status, 200);
      const clients = await Promise.all(Array.from({ length: 100 }, () => open(port(addr))));
      try {
        await until(() => clients.filter((c) => c.isClosed()).length >= 36, 5000, 'the connections over the cap to be closed');
        const open64 = statsConnections(pid, port(addr));
        assert.ok(open64 <= 64, `${open64} stats connections open (the cap is 64)`);
        await statsConnectionsClosed(pid, port(addr), 'the idle stats connections to time out');
      } finally {
        for (const c of clients) c.socket.destroy();
      }
    }));
});
