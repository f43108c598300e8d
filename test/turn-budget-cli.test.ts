// The turn budget (src/worker/turn-budget.ts) through the CLI, attacked: CPU-bound requests pipelined
// on many connections, some clients leaving while their requests wait for a turn, and a new
// connection arriving meanwhile. Every request of a client that stayed is answered, in order; the
// new connection is served; the worker stays healthy and goes idle. And a chain reload while
// requests wait for a turn: the stopping worker runs what it took.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { fixture, get, rawStats, startSpindle, until } from './helpers/spindle.js';

/** 20 connections, each pipelining two 20 ms CPU requests as soon as it connects: what each got back. */
function pipelinedCpuClients(url: string) {
  const port = Number(new URL(url).port);
  return Array.from({ length: 20 }, (_, i) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    let closed = false;
    socket.setEncoding('utf8').on('data', (d) => { got += d; });
    socket.on('error', () => { /* a test may destroy it */ });
    socket.on('close', () => { closed = true; });
    socket.on('connect', () => socket.write(`GET /cpu?ms=20&c=${i}&n=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /cpu?ms=20&c=${i}&n=2 HTTP/1.1\r\nHost: x\r\n\r\n`));
    return {
      socket,
      statuses: () => [...got.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1])),
      saidClose: () => /^connection: close\r$/im.test(got),
      closed: () => closed,
    };
  });
}

test('CPU-bound pipelined requests, clients that leave while waiting for a turn, and a new connection meanwhile', async () => {
  const sp = await startSpindle([fixture('accept/node-app.mjs'), '--http-socket', '127.0.0.1:0', '--processes', '1', '--stats', '127.0.0.1:0']);
  const clients = pipelinedCpuClients(sp.url).map((c, i) => ({ ...c, leaves: i % 4 === 0, answers: () => c.statuses().filter((st) => st === 200).length }));
  try {
    await until(() => clients.every((c) => c.socket.readyState === 'open') || null, 10000, 'connected');
    for (const c of clients) if (c.leaves) c.socket.destroy(); // gone while their requests wait for a turn
    const fresh = await get(`${sp.url}/`, { timeoutMs: 15000 });
    assert.equal(fresh.status, 200, 'a new connection is served while the worker is busy');
    await until(() => clients.every((c) => c.leaves || c.answers() === 2) || null, 20000, 'both answers on every connection that stayed');
    // nothing left in flight or waiting: the worker reports itself idle
    const statsAddr = sp.lines.find((l) => l.event === 'SERVING')!.stats as string;
    await until(async () => {
      const doc = JSON.parse(await rawStats(statsAddr)) as { workers: { in_flight: number }[] };
      return doc.workers.every((w) => w.in_flight === 0) || null;
    }, 10000, 'in_flight back to 0');
    assert.equal((await get(`${sp.url}/`)).status, 200);
  } finally {
    for (const c of clients) c.socket.destroy();
    await sp.stop();
  }
});

test('a chain reload (SIGHUP) while pipelined CPU-bound requests wait for a turn: every request the worker took is answered 200', async () => {
  const sp = await startSpindle([fixture('accept/node-app.mjs'), '--http-socket', '127.0.0.1:0', '--processes', '1']);
  // 20 connections × 2 pipelined requests of 20 ms: about 800 ms of work for one worker, most of it
  // waiting for a turn when the reload begins.
  const clients = pipelinedCpuClients(sp.url);
  try {
    await until(() => clients.every((c) => c.socket.readyState === 'open') || null, 10000, 'connected');
    sp.proc.kill('SIGHUP');
    await until(() => sp.lines.some((l) => l.event === 'RELOAD_DONE') || null, 20000, 'the chain reload');
    await until(() => clients.every((c) => c.closed() || c.statuses().length === 2) || null, 20000, 'every connection answered or closed');
    for (const [i, c] of clients.entries()) {
      const statuses = c.statuses();
      assert.ok(statuses.length >= 1, `connection ${i}: its first request was answered`);
      assert.ok(statuses.every((st) => st === 200), `connection ${i}: ${statuses.join(', ')}`);
      // A request left unanswered is only one the client was told to send again (Connection: close).
      if (statuses.length < 2) assert.ok(c.saidClose(), `connection ${i}: 1 answer and no Connection: close`);
    }
    const twice = clients.filter((c) => c.statuses().length === 2).length;
    console.log(`# reload while waiting for turns: ${twice} connections answered twice, ${clients.length - twice} once with Connection: close`);
    assert.equal((await get(`${sp.url}/`)).status, 200, 'the new worker serves');
  } finally {
    for (const c of clients) c.socket.destroy();
    await sp.stop();
  }
});
