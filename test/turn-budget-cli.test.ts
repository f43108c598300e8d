// The turn budget (src/worker/turn-budget.ts) through the CLI, attacked: CPU-bound requests pipelined
// on many connections, some clients leaving while their requests wait for a turn, and a new
// connection arriving meanwhile. Every request of a client that stayed is answered, in order; the
// new connection is served; the worker stays healthy and goes idle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { fixture, get, rawStats, startSpindle, until } from './helpers/spindle.js';

test('CPU-bound pipelined requests, clients that leave while waiting for a turn, and a new connection meanwhile', async () => {
  const sp = await startSpindle([fixture('accept/node-app.mjs'), '--http-socket', '127.0.0.1:0', '--processes', '1', '--stats', '127.0.0.1:0']);
  const sockets: Socket[] = [];
  try {
    const { port } = new URL(sp.url);
    const clients = Array.from({ length: 20 }, (_, i) => {
      const socket = connect(Number(port), '127.0.0.1');
      sockets.push(socket);
      let got = '';
      socket.setEncoding('utf8').on('data', (d) => { got += d; });
      socket.on('error', () => { /* the ones destroyed below */ });
      socket.on('connect', () => socket.write(`GET /cpu?ms=20&c=${i}&n=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /cpu?ms=20&c=${i}&n=2 HTTP/1.1\r\nHost: x\r\n\r\n`));
      return { socket, leaves: i % 4 === 0, answers: () => (got.match(/^HTTP\/1\.1 200 /gm) ?? []).length };
    });
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
    for (const s of sockets) s.destroy();
    await sp.stop();
  }
});
