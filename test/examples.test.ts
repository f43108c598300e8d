// Every example a user copies from starts through the real CLI and answers.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startSpindle, get, ROOT, BIN } from './helpers/spindle.js';

const example = (rel: string) => `${ROOT}examples/${rel}`;

describe('framework examples', () => {
  for (const name of ['hello', 'express', 'fastify', 'koa', 'hono']) {
    test(`examples/${name}/app.mjs serves / ${name === 'hello' ? '' : 'and POST /items'}`, async () => {
      const s = await startSpindle([example(`${name}/app.mjs`), '--http-socket', '127.0.0.1:0', '--processes', '1']);
      try {
        const r = await get(`${s.url}/`);
        assert.equal(r.status, 200);
        assert.match(r.body.toString(), /^hello from .*worker 1\n$/);
        if (name !== 'hello') {
          const p = await get(`${s.url}/items`, { method: 'POST', body: JSON.stringify({ n: 1 }), headers: { 'content-type': 'application/json' } });
          assert.equal(p.status, 201);
          assert.deepEqual(JSON.parse(p.body.toString()), { created: { n: 1 } });
        }
      } finally {
        await s.stop();
      }
    });
  }

  test('npm start serves the hello example (the README quick start)', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.start, 'node bin/spindle.js examples/hello/app.mjs');
  });
});

describe('shared-state example (cache, locks, counters)', () => {
  test('counter, cache with TTL and lock-protected booking across two workers', async () => {
    const s = await startSpindle([example('shared-state/app.mjs'), '--ini', example('shared-state/spindle.ini'),
      '--http-socket', '127.0.0.1:0', '--processes', '2', '--concurrency', '2']);
    try {
      const hits = [];
      for (let i = 0; i < 4; i++) hits.push(JSON.parse((await get(`${s.url}/`)).body.toString()).hits as number);
      assert.deepEqual(hits, [1, 2, 3, 4]);

      assert.equal((await get(`${s.url}/cache/greeting?ttl=60`, { method: 'PUT', body: 'hi there' })).status, 204);
      const cached = await get(`${s.url}/cache/greeting`);
      assert.equal(cached.status, 200);
      assert.equal(cached.body.toString(), 'hi there');
      assert.equal((await get(`${s.url}/cache/missing`)).status, 404);

      // 12 bookings at once for 10 seats: exactly 10 succeed, every seat once.
      const replies = await Promise.all(Array.from({ length: 12 }, () => get(`${s.url}/book`, { method: 'POST' })));
      const booked = replies.filter((r) => r.status === 201).map((r) => JSON.parse(r.body.toString()).seat as number);
      assert.equal(booked.length, 10);
      assert.deepEqual([...booked].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.equal(replies.filter((r) => r.status === 409).length, 2);

      const stats = JSON.parse((await get(`${s.url}/stats`)).body.toString());
      assert.deepEqual(stats, { hits: 4, seatsLeft: 0, sessions: 1 });
    } finally {
      await s.stop();
    }
  });
});

describe('production.ini', () => {
  test('spindle check accepts it, noting the Python-only lines', () => {
    const r = spawnSync(process.execPath, [BIN, 'check', '--ini', example('production.ini'), example('hello/app.mjs')], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /configuration is valid/);
    assert.match(r.stdout + r.stderr, /py-call-osafterfork/);
  });

  test('it serves, with the pool sized down for a test machine', async () => {
    // Everything from the file except the guide's 128-worker scaling numbers and the fixed ports.
    const s = await startSpindle([example('hello/app.mjs'), '--ini', example('production.ini'),
      '--processes', '2', '--cheaper', '1', '--cheaper-initial', '1', '--cheaper-step', '1',
      '--http-socket', '127.0.0.1:0', '--stats', '127.0.0.1:0']);
    try {
      const r = await get(`${s.url}/`);
      assert.equal(r.status, 200);
      assert.match(r.body.toString(), /^hello from Spindle worker \d+\n$/);
    } finally {
      await s.stop();
    }
  });
});
