// Stress and fault-injection tests of the shared core with real worker_threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { createSharedCore, type SharedCore } from '../src/shm/layout.js';
import { normalizeCacheSpec } from '../src/shm/cache-spec.js';
import { checkValue } from './fixtures/shm/values.js';

const WORKER = new URL('./fixtures/shm/worker.js', import.meta.url);

function makeCore(clock?: () => number): SharedCore {
  return createSharedCore({
    workerSlots: 4,
    muleSlots: 0,
    locks: 3,
    counters: { max: 16, declared: ['hits'] },
    caches: [
      normalizeCacheSpec({ name: 'main', items: 64, blocksize: 64, blocks: 400, bitmap: true, keysize: 32, clearOnFull: true }),
      normalizeCacheSpec({ name: 'lru', items: 24, blocksize: 400, keysize: 32, purgeLru: true }),
    ],
  }, { clock });
}

function run(core: SharedCore, mode: string, id: number, iterations: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: { handle: core.handle, mode, iterations, id, seed: id * 7919 + 1 } });
    let result: Record<string, unknown> | undefined;
    w.on('message', (m) => (result = m));
    w.on('error', reject);
    w.on('exit', () => (result ? resolve(result) : reject(new Error('worker exited without a result'))));
  });
}

test('N threads × M increments: cache inc, counter and lock-protected read-modify-write are exact', async () => {
  const core = makeCore();
  const N = 4;
  const M = 3000;
  await Promise.all(Array.from({ length: N }, (_, i) => run(core, 'inc', i, M)));
  const c = core.cache('main');
  assert.equal(c.getNumber('n'), BigInt(N * M));
  assert.equal(core.counters.counter('hits').get(), BigInt(N * M));
  assert.equal(c.get('rmw'), String(N * M));
  assert.deepEqual(c.verify(), []);
  assert.equal(core.locks.isLocked(1), false);
});

test('concurrent set/get on shared keys never returns a value nobody wrote', async () => {
  const core = makeCore();
  const results = await Promise.all(Array.from({ length: 3 }, (_, i) => run(core, 'rw', i, 20000)));
  let reads = 0;
  for (const r of results) {
    assert.equal(r.bad, 0);
    reads += r.reads as number;
  }
  assert.ok(reads > 1000, `only ${reads} reads hit`);
  const c = core.cache('main');
  for (const k of c.keys()) assert.ok(checkValue(k, c.get(k)!), `bad value for ${k}`);
  assert.deepEqual(c.verify(), []);
});

// A hang (a worker that never gets ready, a terminate() that never settles) fails instead of
// blocking the run forever; a normal run takes a few seconds.
test('threads terminated at random points leave every cache consistent and every lock usable', { timeout: 300_000 }, async () => {
  // The checking (main) thread reads with a clock frozen for the whole check, so an entry with a
  // TTL cannot expire between keys() listing it and get() reading it (the workers use Date.now).
  let frozen: number | undefined;
  const core = makeCore(() => frozen ?? Date.now());
  const rounds = 20;
  let recoveredLocks = 0;
  let recoveredCaches = 0;
  let problems: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const ws = Array.from({ length: 3 }, (_, i) => {
      const w = new Worker(WORKER, { workerData: { handle: core.handle, mode: 'chaos', iterations: 0, id: round * 10 + i, seed: round * 131 + i + 1 } });
      const msgs: unknown[] = [];
      const ready = new Promise<void>((resolve, reject) => {
        w.on('message', (m: { ready?: boolean }) => (m.ready ? resolve() : msgs.push(m)));
        w.on('error', reject);
        w.on('exit', (code) => reject(new Error(`chaos worker exited (code ${code}) before it was ready`)));
      });
      return { w, tid: w.threadId, ready, msgs };
    });
    await Promise.all(ws.map((x) => x.ready));
    await new Promise((r) => setTimeout(r, 1 + Math.random() * 12));
    // terminate at staggered random points
    for (const x of ws) {
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      await x.w.terminate();
      const rep = core.onThreadExit(x.tid);
      recoveredLocks += rep.locks.length;
      recoveredCaches += rep.caches.length;
    }
    for (const x of ws) for (const m of x.msgs) assert.fail(`worker reported ${JSON.stringify(m)}`);
    frozen = Date.now();
    for (const c of core.caches) {
      const p = c.verify(); // repairs first if a dead owner left the table dirty
      problems = problems.concat(p.map((s) => `round ${round} ${c.name}: ${s}`));
      // every listed key must be readable, and its value must be one some writer wrote whole
      for (const k of c.keys()) {
        const v = c.get(k);
        assert.notEqual(v, undefined, `round ${round}: ${c.name}/${k} is listed by keys() but get() misses it (${p.join('; ')})`);
        if (k === 'num') continue;
        assert.ok(checkValue(k, v!), `round ${round}: torn value survived in ${c.name}/${k}`);
      }
    }
    frozen = undefined;
    for (let n = 0; n <= core.locks.max; n++) {
      const r = core.locks.tryLock(n);
      assert.ok(r, `round ${round}: lock ${n} unusable`);
      core.locks.unlock(n);
    }
  }
  assert.deepEqual(problems, []);
  const repairs = core.caches.reduce((a, c) => a + c.stats().repairs, 0);
  // Not asserted (timing dependent), but shows the recovery paths ran:
  console.log(`chaos: ${rounds} rounds, ${recoveredLocks} user locks and ${recoveredCaches} cache locks recovered, ${repairs} repairs`);
});
