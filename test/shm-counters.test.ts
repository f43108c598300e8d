import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSharedCore, attachSharedCore } from '../src/shm/layout.js';
import { SpindleError } from '../src/errors.js';

const code = (c: string) => (e: unknown) => e instanceof SpindleError && e.code === c;

test('declared and created counters, add/get/set/compareExchange, list, capacity and name errors', () => {
  const core = createSharedCore({ workerSlots: 0, muleSlots: 0, locks: 0, counters: { max: 3, declared: ['requests'] }, caches: [] });
  assert.deepEqual(core.listCounters(), [{ name: 'requests', value: 0n }]);
  const r = core.counters.counter('requests');
  assert.equal(r.add(), 1n);
  assert.equal(r.add(41), 42n);
  assert.equal(r.add(-2n), 40n);
  r.set(2n ** 63n - 1n);
  assert.equal(r.add(1), -(2n ** 63n), 'wraps like int64');
  r.set(5);
  assert.equal(r.compareExchange(4, 9), 5n);
  assert.equal(r.get(), 5n);
  assert.equal(r.compareExchange(5n, 9n), 5n);
  assert.equal(r.get(), 9n);
  const other = attachSharedCore(core.handle, { threadId: 3 });
  assert.equal(other.counters.counter('requests').get(), 9n);
  other.counters.counter('émoji 😀').add(2);
  assert.equal(core.counters.counter('émoji 😀').get(), 2n);
  core.counters.counter('third');
  assert.throws(() => core.counters.counter('fourth'), (e: unknown) => code('COUNTER_CAPACITY')(e) && /all 3 counters/.test((e as Error).message));
  assert.throws(() => core.counters.counter(''), code('COUNTER_NAME'));
  assert.throws(() => core.counters.counter('x'.repeat(65)), code('COUNTER_NAME'));
  assert.throws(() => r.add(0.5), RangeError);
  assert.deepEqual(core.listCounters().map((c) => c.name), ['requests', 'émoji 😀', 'third']);
});

test('a creator that died holding the name-table lock does not block creation', () => {
  const core = createSharedCore({ workerSlots: 0, muleSlots: 0, locks: 0, counters: { max: 2, declared: [] }, caches: [] });
  const dead = attachSharedCore(core.handle, { threadId: 12 });
  const h = (dead.counters as unknown as { h: Int32Array }).h;
  Atomics.store(h, 0, 13); // thread 12 holds the creation lock …
  assert.equal(core.onThreadExit(12).counterTable, true); // … and dies
  assert.equal(core.counters.counter('x').add(), 1n);
});
