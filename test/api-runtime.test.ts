// The runtime API outside Spindle: the same imports work with a private in-process core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cache, lock, unlock, lockAsync, isLocked, withLock, withLockAsync, counter, listCounters, isInsideSpindle,
  configureLocalCore, SpindleError,
} from 'spindle';
import { installSharedCore, resetRuntimeForTests } from '../src/api/runtime.js';
import { createSharedCore } from '../src/shm/layout.js';
import { parseCacheSpec } from '../src/config/cache2.js';

test('outside Spindle the API works on a local backing', async () => {
  assert.equal(isInsideSpindle(), false);
  const c = cache();
  c.set('k', 'v', { ttl: 60 });
  assert.equal(c.get('k'), 'v');
  assert.equal(cache('sessions').add('s1', 'x'), true, 'unknown names are created on first use outside Spindle');
  assert.equal(cache('sessions').get('s1'), 'x');
  assert.equal(c.get('s1'), undefined);
  assert.equal(counter('c').add(2), 2n);
  assert.ok(listCounters().some((x) => x.name === 'c'));
  assert.deepEqual(lock(3), { recovered: false });
  assert.equal(isLocked(3), true);
  unlock(3);
  assert.equal(await withLock(4, async (info) => (isLocked(4) && !info.recovered ? 'in' : 'out')), 'in');
  assert.equal(isLocked(4), false);
  assert.equal(withLock(4, () => 5), 5);
  assert.throws(() => withLock(4, () => { throw new Error('boom'); }), /boom/);
  assert.equal(isLocked(4), false, 'released after a throw');
  await assert.rejects(withLockAsync(4, () => Promise.reject(new Error('no'))), /no/);
  assert.equal(isLocked(4), false, 'released after a rejection');
  const p = withLock(5, () => new Promise<number>((r) => setTimeout(() => r(1), 5)));
  assert.equal(isLocked(5), true);
  assert.equal(await p, 1);
  assert.equal(isLocked(5), false);
  await lockAsync(6);
  unlock(6);
  assert.throws(() => lock(256), (e: unknown) => e instanceof SpindleError && e.code === 'LOCK_INVALID');
});

test('configureLocalCore mirrors an app config, with an injected clock', () => {
  let now = 0;
  configureLocalCore({ caches: [parseCacheSpec({ name: 'mine', items: '2', blocksize: '16', keysize: '8' })], locks: 1 }, { clock: () => now });
  cache().set('a', '1', { ttl: 1 });
  now = 1000;
  assert.equal(cache('mine').get('a'), undefined);
  assert.throws(() => cache().set('a', 'x'.repeat(17)), (e: unknown) => e instanceof SpindleError && e.code === 'CACHE_VALUE_TOO_LARGE');
  assert.throws(() => lock(2), (e: unknown) => e instanceof SpindleError && e.code === 'LOCK_INVALID');
});

test('inside Spindle: installSharedCore, unknown caches are errors', () => {
  const core = createSharedCore({ workerSlots: 1, muleSlots: 0, locks: 0, counters: { max: 1, declared: [] }, caches: [parseCacheSpec({ name: 'only', items: '2', blocksize: '8', keysize: '8' })] });
  installSharedCore(core.handle);
  assert.equal(isInsideSpindle(), true);
  cache().set('x', 'y');
  assert.equal(core.cache('only').get('x'), 'y');
  assert.throws(() => cache('other'), (e: unknown) => e instanceof SpindleError && e.code === 'CACHE_UNKNOWN' && /configured caches: only/.test(e.message));
  resetRuntimeForTests();
  assert.equal(isInsideSpindle(), false);
});
