// Programmatic embedding: start() resolves when listening, with addresses, stats(), reload(), close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start, SpindleError } from 'spindle/server';
import { fixture, get, until } from './helpers/spindle.js';

test('start() serves, reports stats, reloads and closes', async () => {
  const server = await start({ app: fixture('serve/app.mjs'), httpSocket: ['127.0.0.1:0'], processes: 2, logLevel: 'error' });
  try {
    assert.equal(server.addresses.length, 1);
    const url = server.addresses[0]!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await get(`${url}/`);
    assert.equal(r.status, 200);
    // the worker that served it reports to the master once it is idle: poll
    const stats = await until(() => { const x = server.stats(); return x.requests === 1 ? x : null; }, 5000, 'the request in stats()');
    assert.equal(stats.workers.length, 2);
    assert.ok(stats.workers.every((w) => w.state === 'ready'));
    assert.equal(await server.reload(), true);
    assert.equal((await get(`${url}/`)).status, 200);
  } finally {
    await server.close();
  }
});

test('start() rejects a bad option and an app that does not load, with clear errors', async () => {
  await assert.rejects(() => start({ app: fixture('serve/app.mjs'), harakri: 5 }), /unknown option .*harakri.*did you mean harakiri/s);
  await assert.rejects(
    () => start({ app: fixture('apps/broken-throws.mjs'), httpSocket: ['127.0.0.1:0'], processes: 1, logLevel: 'fatal' }),
    (err: unknown) => err instanceof SpindleError && err.code === 'APP_LOAD',
  );
});
