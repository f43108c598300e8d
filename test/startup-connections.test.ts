// Connections made while Spindle starts: the master binds the listening sockets and never accepts
// on them (src/master/bound-socket.ts), so every connection the kernel takes before a worker is
// ready waits in the accept queue and is answered by the first worker. (The master used to listen
// with net.Server while its descriptor copy was on its way: what it accepted in that window was
// never answered.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, startSpindle, until, type Running } from './helpers/spindle.js';

interface Attempt { connected: boolean; answered: boolean; closed: boolean; socket: Socket }

/** One GET on a fresh connection; `connected` once the kernel took it. Settles on connect or refusal. */
function attempt(target: { port: number } | { path: string }): { a: Attempt; settled: Promise<void> } {
  const sock = 'port' in target ? connect({ host: '127.0.0.1', port: target.port }) : connect({ path: target.path });
  const a: Attempt = { connected: false, answered: false, closed: false, socket: sock };
  let got = '';
  let settle!: () => void;
  const settled = new Promise<void>((r) => { settle = r; });
  sock.on('connect', () => {
    settle();
    a.connected = true;
    sock.write('GET / HTTP/1.1\r\nHost: startup\r\nConnection: close\r\n\r\n');
  });
  sock.on('data', (d) => {
    got += d;
    if (/^HTTP\/1\.1 200 /.test(got)) a.answered = true;
  });
  sock.on('error', () => { /* refused before the socket is bound: not counted */ });
  sock.on('close', () => { a.closed = true; settle(); });
  return { a, settled };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function connectWhileStarting(listen: string, target: { port: number } | { path: string }): Promise<void> {
  const attempts: Attempt[] = []; // the connected ones
  let servingAt = -1;
  let running = true;
  // Connect back to back on a few connections at once, so that even a window of a millisecond
  // between the socket starting to listen and the master letting go of it sees connections.
  const loops = Array.from({ length: 8 }, async () => {
    while (running && attempts.length < 2000) {
      const { a, settled } = attempt(target);
      await settled;
      if (a.connected) attempts.push(a); // a refusal (nothing bound yet) is not kept
    }
  });
  const loop = Promise.all(loops);
  let sp: Running | undefined;
  try {
    // An app that takes 1.5 s to load: the window between bind and serving is then long enough for
    // this process to see connections in it even on a loaded machine (with a fast app it was ~0.1 s,
    // and once in a CI run the test saw none: 'serving' was read before any connect callback ran).
    sp = await startSpindle([fixture('serve/slow-load.mjs'), '--http-socket', listen, '--processes', '2']);
    servingAt = attempts.length;
    // a few more once it serves, then stop
    await until(() => attempts.length >= servingAt + 20 || null, 10000, 'connections after serving');
    running = false;
    await loop;
    assert.ok(servingAt > 0, 'some connections must reach the socket before "spindle is serving" (the window under test)');
    await until(() => attempts.every((a) => a.answered && a.closed) || null, 15000, 'an answer on every connection')
      .catch(() => assert.fail(`${attempts.filter((a) => !a.answered).length} of ${attempts.length} connections were never answered`));
  } finally {
    running = false;
    for (const a of attempts) a.socket.destroy(); // an unanswered one would hold its loop forever
    await loop;
    await sp?.stop();
  }
}

test('every connection made while the server starts is answered (TCP)', async () => {
  const port = await freePort();
  await connectWhileStarting(`127.0.0.1:${port}`, { port });
});

test('every connection made while the server starts is answered (UNIX socket)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-startup-'));
  try {
    const path = join(dir, 'app.sock');
    await connectWhileStarting(path, { path });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
