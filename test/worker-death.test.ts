// A worker thread that dies (process.exit() or an uncaught exception in the app) with requests it
// has read but not answered. On each connection, the next answer still owed is written as the
// thread exits: 502 for a request the app had, 503 for one it never started (it did not run, so
// the client may send it again). Requests queued behind it on the same connection get no answer,
// and the `Connection: close` tells the client so; a response already begun is cut, never
// followed by another answer's bytes. A quick shutdown answers the same way, with 503.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSpindle, fixture, until, get, type Running } from './helpers/spindle.js';
import { encodeUwsgiPacket } from '../src/front/uwsgi-listener.js';

const APP = fixture('serve/dies-with-requests-waiting.mjs');

async function withDyingApp(args: string[], fn: (s: Running, dir: string) => Promise<void>, listen = ['--http-socket', '127.0.0.1:0']): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-death-'));
  const s = await startSpindle([APP, ...listen, '--processes', '1', ...args], { env: { DEATH_TEST_DIR: dir } });
  try {
    await fn(s, dir);
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A raw keep-alive connection: what it received so far, and when the server closed it. */
interface Conn { sock: Socket; text: () => string; closed: Promise<string> }

function open(url: string): Promise<Conn> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect({ host: u.hostname, port: Number(u.port) });
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => { out += d; });
    const closed = new Promise<string>((done) => sock.on('close', () => done(out)));
    sock.on('error', () => { /* a reset: 'close' follows, and the test reads what arrived */ });
    sock.once('connect', () => resolve({ sock, text: () => out, closed }));
    sock.once('error', reject);
  });
}

function send(c: Conn, path: string): Promise<void> {
  return write(c, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
}

/** The request nginx's uwsgi_pass would send for GET `path`. */
function sendUwsgi(c: Conn, path: string): Promise<void> {
  return write(c, encodeUwsgiPacket([['REQUEST_METHOD', 'GET'], ['REQUEST_URI', path], ['PATH_INFO', path], ['QUERY_STRING', ''],
    ['SERVER_PROTOCOL', 'HTTP/1.1'], ['SERVER_NAME', 'x'], ['SERVER_PORT', '80'], ['HTTP_HOST', 'x']]));
}

function write(c: Conn, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => c.sock.write(data, (err) => (err ? reject(err) : resolve())));
}

/** The status codes of the responses in a connection's bytes, in order. */
const statuses = (bytes: string) => [...bytes.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

const died = (s: Running) => s.waitForLog((l) => l.event === 'WORKER_DIED', 10000, 'WORKER_DIED');

/** Until the app holds the request it was sent (/hold writes the `holding` marker). */
const holding = (dir: string) => until(() => existsSync(join(dir, 'holding')), 10000, 'the first request to be with the app');

/** After a quick shutdown: the request in flight and the one waiting each got 503; the server exited 0. */
async function bothAnswered503(s: Running, holder: Conn, waiter: Conn): Promise<void> {
  const [held, waited] = await Promise.all([holder.closed, waiter.closed]);
  assert.deepEqual(statuses(held), [503], held);
  assert.deepEqual(statuses(waited), [503], waited);
  assert.equal((await s.exited).code, 0);
}

/** A quick shutdown: SIGTERM, and a second one once the graceful shutdown has begun. */
async function quickShutdown(s: Running): Promise<void> {
  s.proc.kill('SIGTERM');
  await s.waitForLog((l) => l.event === 'GRACEFUL_SHUTDOWN', 10000, 'GRACEFUL_SHUTDOWN');
  s.proc.kill('SIGTERM');
}

for (const how of ['die', 'throw']) {
  test(`a request waiting at the concurrency cap is answered 503 when the worker dies (${how === 'die' ? 'process.exit()' : 'uncaught exception'}); the one in flight 502`, () =>
    withDyingApp(['--concurrency', '1'], async (s, dir) => {
      const holder = await open(s.url);
      const waiter = await open(s.url);
      try {
        await send(holder, `/hold?then=${how}`);
        await holding(dir);
        await send(waiter, '/b');
        const [held, waited] = await Promise.all([holder.closed, waiter.closed]);
        assert.deepEqual(statuses(held), [502], held);
        assert.deepEqual(statuses(waited), [503], waited);
        assert.match(waited, /\r\nconnection: close\r\n/i);
        await died(s);
        assert.equal((await until(() => get(`${s.url}/`).catch(() => null), 15000, 'the replacement worker')).status, 200);
      } finally {
        holder.sock.destroy();
        waiter.sock.destroy();
      }
    }));
}

test('on a uwsgi-socket too (nginx uwsgi_pass): 502 for the request the app had, 503 for the one waiting at the cap', () =>
  withDyingApp(['--concurrency', '1'], async (s, dir) => {
    const url = s.addresses.find((a) => a.startsWith('uwsgi://'));
    assert.ok(url, s.addresses.join(', '));
    const holder = await open(url);
    const waiter = await open(url);
    try {
      await sendUwsgi(holder, '/hold?then=die');
      await holding(dir);
      await sendUwsgi(waiter, '/b');
      const [held, waited] = await Promise.all([holder.closed, waiter.closed]);
      assert.deepEqual(statuses(held), [502], held);
      assert.deepEqual(statuses(waited), [503], waited);
      await died(s);
    } finally {
      holder.sock.destroy();
      waiter.sock.destroy();
    }
  }, ['--uwsgi-socket', '127.0.0.1:0']));

test('requests read in the same loop turn as a handler past the turn budget are answered 503 when it kills the worker', () =>
  withDyingApp([], async (s, dir) => {
    const blocker = await open(s.url);
    const conns = await Promise.all([open(s.url), open(s.url), open(s.url)]);
    try {
      // Warm connections, so that the worker has accepted them and reads them in one poll.
      for (const c of conns) await send(c, '/warm');
      await until(() => conns.every((c) => statuses(c.text()).length === 1), 10000, 'the warm-up answers');
      await send(blocker, '/block');
      await until(() => existsSync(join(dir, 'blocking')), 10000, 'the worker to be blocked');
      for (const c of conns) await send(c, '/spin-then-die');
      writeFileSync(join(dir, 'go'), '');
      const answers = (await Promise.all(conns.map((c) => c.closed))).map((bytes) => statuses(bytes).slice(1));
      assert.equal(statuses(await blocker.closed)[0], 200);
      // The first of them ran (200) and ended the turn; the other two were never started.
      assert.deepEqual(answers.map((a) => a.join()).sort(), ['200', '503', '503'], JSON.stringify(answers));
      await died(s);
    } finally {
      for (const c of [blocker, ...conns]) c.sock.destroy();
    }
  }));

test('a response already begun is cut when the worker dies: no other answer is written into its body', () =>
  withDyingApp([], async (s) => {
    const piped = await open(s.url);
    try {
      // Two pipelined requests, both with the app: the first has sent its head and part of its body.
      piped.sock.write('GET /stream-then-hang HTTP/1.1\r\nHost: x\r\n\r\nGET /hang HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => piped.text().includes('partial body'), 10000, 'the first response to begin');
      const killer = await get(`${s.url}/die`).then((r) => r.status, (err: NodeJS.ErrnoException) => err.code ?? 'failed');
      assert.equal(killer, 502);
      const bytes = await piped.closed;
      assert.deepEqual(statuses(bytes), [200], bytes);
      assert.ok(!bytes.includes('Bad Gateway') && !bytes.includes('Service Unavailable'), bytes);
      await died(s);
    } finally {
      piped.sock.destroy();
    }
  }));

test('a quick shutdown (a second SIGTERM) answers 503 to the request in flight and to the one waiting at the cap', () =>
  withDyingApp(['--concurrency', '1', '--worker-reload-mercy', '60'], async (s, dir) => {
    const holder = await open(s.url);
    const waiter = await open(s.url);
    try {
      await send(holder, '/hold?then=mark');
      await holding(dir);
      await send(waiter, '/b');
      await until(() => existsSync(join(dir, 'read-b')), 10000, 'the second request to be read');
      await quickShutdown(s);
      await bothAnswered503(s, holder, waiter);
    } finally {
      holder.sock.destroy();
      waiter.sock.destroy();
    }
  }));

test('a client that left while its request waited at the cap is skipped; the others are still answered', () =>
  withDyingApp(['--concurrency', '1', '--worker-reload-mercy', '60'], async (s, dir) => {
    const holder = await open(s.url);
    const gone = await open(s.url);
    const waiter = await open(s.url);
    try {
      await send(holder, '/hold?then=mark');
      await holding(dir);
      await send(gone, '/gone');
      await send(waiter, '/b');
      await until(() => existsSync(join(dir, 'read-gone')) && existsSync(join(dir, 'read-b')), 10000, 'both waiting requests to be read');
      gone.sock.destroy();
      await gone.closed;
      await quickShutdown(s);
      await bothAnswered503(s, holder, waiter);
    } finally {
      for (const c of [holder, gone, waiter]) c.sock.destroy();
    }
  }));

test('a worker that dies while a client leaves a large response unread is replaced; that client is cut, the next request is served', () =>
  withDyingApp([], async (s) => {
    const stalled = await open(s.url);
    try {
      await send(stalled, '/big');
      await until(() => stalled.text().startsWith('HTTP/1.1 200'), 10000, 'the large response to begin');
      stalled.sock.pause(); // and never reads again
      const killer = await get(`${s.url}/die`).then((r) => r.status, (err: NodeJS.ErrnoException) => err.code ?? 'failed');
      assert.equal(killer, 502);
      await died(s);
      assert.equal((await until(() => get(`${s.url}/`).catch(() => null), 15000, 'the replacement worker')).status, 200);
      stalled.sock.resume();
      const bytes = await stalled.closed;
      assert.ok(bytes.length < 16 * 1024 * 1024, 'the unread response was cut, not completed');
      assert.ok(!bytes.includes('Bad Gateway') && !bytes.includes('Service Unavailable'), 'nothing appended to it');
    } finally {
      stalled.sock.destroy();
    }
  }));
