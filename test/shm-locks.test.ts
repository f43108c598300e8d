import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSharedCore, attachSharedCore } from '../src/shm/layout.js';
import { SpindleError } from '../src/errors.js';

const code = (c: string) => (e: unknown) => e instanceof SpindleError && e.code === c;
const core0 = () => createSharedCore({ workerSlots: 0, muleSlots: 0, locks: 2, counters: { max: 0, declared: [] }, caches: [] });

test('lock/unlock/isLocked and the errors', () => {
  const core = core0();
  const L = core.locks;
  assert.equal(L.isLocked(0), false);
  assert.deepEqual(L.lock(0), { recovered: false });
  assert.equal(L.isLocked(0), true);
  assert.throws(() => L.lock(0), code('LOCK_ALREADY_HELD'));
  L.unlock(0);
  assert.throws(() => L.unlock(0), (e: unknown) => code('LOCK_NOT_HELD')(e) && /it is free/.test((e as Error).message));
  assert.throws(() => L.lock(3), (e: unknown) => code('LOCK_INVALID')(e) && /0\.\.2/.test((e as Error).message));
  assert.throws(() => L.lock(-1), code('LOCK_INVALID'));
  assert.throws(() => L.lock(1.5), code('LOCK_INVALID'));
  assert.throws(() => L.isLocked(9), code('LOCK_INVALID'));
  const other = attachSharedCore(core.handle, { threadId: 4 });
  other.locks.lock(2);
  assert.throws(() => L.unlock(2), (e: unknown) => code('LOCK_NOT_HELD')(e) && /thread 4 holds it/.test((e as Error).message));
  assert.equal(L.tryLock(2), undefined);
  other.locks.unlock(2);
  assert.deepEqual(L.tryLock(2), { recovered: false });
  L.unlock(2);
});

test('a lock held by a dead thread is recovered and the next owner is told', async () => {
  const core = core0();
  const dead = attachSharedCore(core.handle, { threadId: 77 });
  dead.locks.lock(1);
  const waiting = core.locks.lockAsync(1); // does not block the event loop
  let got = false;
  void waiting.then(() => (got = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(got, false);
  const rep = core.onThreadExit(77);
  assert.deepEqual(rep.locks, [1]);
  assert.deepEqual(await waiting, { recovered: true });
  core.locks.unlock(1);
  assert.deepEqual(core.locks.lock(1), { recovered: false }, 'the flag is consumed once');
  core.locks.unlock(1);
  assert.deepEqual(core.onThreadExit(77).locks, [], 'idempotent');
  const info = core.locks.info()[1]!;
  assert.equal(info.recoveries, 1);
  assert.equal(info.lastOwner, 0);
});

test('lockAsync waits for another async task of the same thread', async () => {
  const core = core0();
  const order: string[] = [];
  await core.locks.lockAsync(0);
  const second = core.locks.lockAsync(0).then(() => order.push('second'));
  await new Promise((r) => setTimeout(r, 5));
  order.push('first done');
  core.locks.unlock(0);
  await second;
  core.locks.unlock(0);
  assert.deepEqual(order, ['first done', 'second']);
});
