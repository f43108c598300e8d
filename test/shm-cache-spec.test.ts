import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheMemoryBytes } from '../src/shm/cache-spec.js';
import { parseCacheSpec, CACHE_SPEC_KEYS } from '../src/config/cache2.js';
import { createSharedCore } from '../src/shm/layout.js';
import { SpindleError } from '../src/errors.js';

const bad = (re: RegExp) => (e: unknown) => e instanceof SpindleError && e.code === 'CONFIG_INVALID_VALUE' && re.test(e.message);

test('defaults and every key', () => {
  const s = parseCacheSpec({ name: 'mycache', items: '150000', blocksize: '8', keysize: '20' });
  assert.deepEqual(
    { ...s },
    {
      name: 'mycache', items: 150000, blocksize: 8, blocks: 150000, keysize: 20, bitmap: false, purgeLru: false,
      lazyExpire: false, sweepOnFull: 0, clearOnFull: false, ignoreFull: false, mathInitial: 0n, noExpire: false,
      hash: 'djb33x', hashsize: 262144,
    },
  );
  const t = parseCacheSpec({
    name: 'b', max_items: '10', blocks: '100', bitmap: '1', lru: 'yes', lazy: '', sweep_on_full: '5', clear_on_full: 'on',
    ignore_full: 'true', math_initial: '-7', no_expire: '1', hash: 'murmur2', hash_size: '17', key_size: '64',
  });
  assert.equal(t.items, 10);
  assert.equal(t.blocks, 100);
  assert.equal(t.bitmap && t.purgeLru && t.lazyExpire && t.clearOnFull && t.ignoreFull && t.noExpire, true);
  assert.equal(t.sweepOnFull, 5);
  assert.equal(t.mathInitial, -7n);
  assert.equal(t.hash, 'murmur2');
  assert.equal(t.hashsize, 17);
  assert.equal(t.keysize, 64);
  assert.equal(t.blocksize, 65536);
  assert.equal(parseCacheSpec({ name: 'c', items: '5', bitmap: 'false' }).bitmap, false, 'bitmap=false really means off');
  assert.equal(parseCacheSpec({ name: 'c', items: '5' }).hashsize, 64);
});

test('errors name the key, the value and the known keys', () => {
  assert.throws(() => parseCacheSpec({ name: 'a', items: '1', itmes: '5' }), bad(/unknown key "itmes" \(="5"\); known keys: name, items/));
  assert.throws(() => parseCacheSpec({ name: 'a', items: '1', store: '' }), bad(/store needs a file path/));
  assert.throws(() => parseCacheSpec({ name: 'a', items: '1', store_sync: '5' }), bad(/only make sense with store/));
  assert.deepEqual(
    (({ store, storeSync, storeDelete }) => ({ store, storeSync, storeDelete }))(parseCacheSpec({ name: 'a', items: '1', store: '/tmp/x', storesync: '5', store_delete: '1' })),
    { store: '/tmp/x', storeSync: 5, storeDelete: true });
  assert.throws(() => parseCacheSpec({ name: 'a', items: '10k' }), bad(/items="10k" is not a whole number/));
  assert.throws(() => parseCacheSpec({ name: 'a', items: '0' }), bad(/items=0 is out of range 1\.\./));
  assert.throws(() => parseCacheSpec({ name: 'a', items: '1', keysize: '70000' }), bad(/keysize=70000 is out of range/));
  assert.throws(() => parseCacheSpec({ name: 'a', items: '1', bitmap: 'maybe' }), bad(/bitmap="maybe" is not a flag/));
  assert.throws(() => parseCacheSpec({ name: 'a', items: '1', hash: 'md5' }), bad(/hash="md5".*djb33x or murmur2/));
  assert.throws(() => parseCacheSpec({ name: 'a', items: '1', math_initial: '1.5' }), bad(/math_initial="1.5" is not an integer/));
  assert.throws(() => parseCacheSpec({ name: 'a', items: '1', math_initial: '9223372036854775808' }), bad(/signed 64-bit/));
  assert.throws(() => parseCacheSpec({ items: '1' }), bad(/name is required/));
  assert.throws(() => parseCacheSpec({ name: 'a' }), bad(/items is required/));
  assert.throws(() => parseCacheSpec({ name: 'a b', items: '1' }), bad(/name="a b"/));
  assert.throws(() => parseCacheSpec({ name: 'a', items: '2', blocks: '5' }), bad(/blocks=5 only makes sense with bitmap/));
  assert.throws(() => parseCacheSpec({ name: 'a', items: '2', lru: '1', purge_lru: '1' }), bad(/"purge_lru" repeats "lru"/));
  assert.throws(() => parseCacheSpec({ name: 'a', items: '100000', blocksize: '1000000' }), bad(/exceeds/));
  assert.ok(CACHE_SPEC_KEYS.includes('sweep_on_full'));
  assert.throws(
    () => createSharedCore({ workerSlots: 0, muleSlots: 0, locks: 0, counters: { max: 1, declared: [] }, caches: [parseCacheSpec({ name: 'a', items: '1' }), parseCacheSpec({ name: 'a', items: '2' })] }),
    bad(/used twice/),
  );
});

test('memory report', () => {
  const s = parseCacheSpec({ name: 'm', items: '100', blocksize: '64', keysize: '16' });
  const bytes = cacheMemoryBytes(s);
  assert.ok(bytes >= 100 * (64 + 16 + 40 + 16 + 4) + 128 * 4, String(bytes));
  assert.ok(bytes < 100 * (64 + 16 + 40 + 16 + 4) + 128 * 4 + 512, String(bytes));
  const core = createSharedCore({ workerSlots: 2, muleSlots: 1, locks: 3, counters: { max: 4, declared: ['x'] }, caches: [s] });
  const r = core.memoryReport();
  assert.deepEqual(r.caches, [{ name: 'm', bytes }]);
  assert.equal(r.total, core.handle.sab.byteLength);
});
