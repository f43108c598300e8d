// Unit tests of the cache2 table: semantics, expiry (injected clock), LRU, bitmap, errors, repair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSharedCore, attachSharedCore } from '../src/shm/layout.js';
import { normalizeCacheSpec, type CacheSpec } from '../src/shm/cache-spec.js';
import type { SharedCache } from '../src/shm/cache/index.js';
import { SpindleError } from '../src/errors.js';

function make(spec: Partial<CacheSpec> & { items: number }, clock?: () => number): SharedCache {
  const core = createSharedCore(
    { workerSlots: 0, muleSlots: 0, locks: 0, counters: { max: 0, declared: [] }, caches: [normalizeCacheSpec({ name: 't', ...spec })] },
    { clock },
  );
  return core.cache();
}

const code = (c: string) => (e: unknown) => e instanceof SpindleError && e.code === c;

test('set/get/add/has/delete/clear/keys/size', () => {
  const c = make({ items: 4, blocksize: 32, keysize: 16 });
  assert.equal(c.get('a'), undefined);
  assert.equal(c.set('a', '1'), true);
  assert.equal(c.get('a'), '1');
  assert.equal(c.add('a', '2'), false, 'add does not overwrite');
  assert.equal(c.get('a'), '1');
  assert.equal(c.set('a', 'two'), true);
  assert.equal(c.get('a'), 'two');
  assert.equal(c.add('b', ''), true, 'empty values are allowed');
  assert.equal(c.get('b'), '');
  assert.equal(c.has('b'), true);
  assert.deepEqual(c.keys().sort(), ['a', 'b']);
  assert.equal(c.size, 2);
  assert.equal(c.delete('a'), true);
  assert.equal(c.delete('a'), false);
  assert.equal(c.has('a'), false);
  c.clear();
  assert.equal(c.size, 0);
  assert.deepEqual(c.keys(), []);
  assert.deepEqual(c.verify(), []);
});

test('items means that many usable entries', () => {
  const c = make({ items: 3, blocksize: 8, keysize: 8 });
  c.set('1', 'a');
  c.set('2', 'b');
  c.set('3', 'c');
  assert.throws(() => c.set('4', 'd'), code('CACHE_FULL'));
  assert.deepEqual(c.verify(), []);
});

test('bytes keys and values, UTF-8 strings, getBytes copies', () => {
  const c = make({ items: 8, blocksize: 64, keysize: 16 });
  const k = new Uint8Array([0, 255, 1]);
  c.set(k, new Uint8Array([9, 8, 7]));
  const got = c.getBytes(k)!;
  assert.deepEqual([...got], [9, 8, 7]);
  got[0] = 1;
  assert.deepEqual([...c.getBytes(k)!], [9, 8, 7]);
  c.set('ключ', 'значение ✓ 😀');
  assert.equal(c.get('ключ'), 'значение ✓ 😀');
  assert.deepEqual([...c.getBytes('k') ?? []], []);
  // a string key and its UTF-8 bytes are the same key
  c.set(new TextEncoder().encode('é'), 'x');
  assert.equal(c.get('é'), 'x');
});

test('expiry with an injected clock: never returned, sweep removes, TTL survives an update', () => {
  let now = 1_000_000;
  const c = make({ items: 8, blocksize: 32, keysize: 16 }, () => now);
  c.set('a', '1', { ttl: 10 });
  c.set('b', '2', { ttl: 20 });
  c.set('c', '3');
  now += 9_999;
  assert.equal(c.get('a'), '1');
  c.set('a', 'updated'); // no ttl: keeps the old expiry
  now += 1;
  assert.equal(c.get('a'), undefined, 'expired at exactly ttl');
  assert.equal(c.has('b'), true);
  c.set('b', 'new ttl', { ttl: 100 });
  now += 50_000;
  assert.equal(c.get('b'), 'new ttl');
  c.set('b', 'forever', { ttl: 0 });
  c.set('d', '4', { ttl: 1 });
  assert.equal(c.keys().includes('d'), true);
  now += 1000;
  assert.equal(c.keys().includes('d'), false, 'keys() skips expired');
  assert.equal(c.size, 3, 'size counts not-yet-swept entries');
  assert.equal(c.sweep(now), 1);
  assert.equal(c.size, 2);
  now += 1e9;
  assert.equal(c.get('b'), 'forever');
  assert.equal(c.get('c'), '3');
  assert.equal(c.add('d', 'again'), true, 'an expired key counts as absent for add');
  assert.equal(c.delete('zzz'), false);
  assert.throws(() => c.set('x', 'y', { ttl: -1 }), RangeError);
  assert.deepEqual(c.verify(), []);
});

test('expired entries are reclaimed before the cache reports full', () => {
  let now = 0;
  const c = make({ items: 2, blocksize: 8, keysize: 8 }, () => now);
  c.set('a', '1', { ttl: 1 });
  c.set('b', '2');
  now = 5000;
  c.set('c', '3');
  assert.equal(c.get('c'), '3');
  assert.equal(c.stats().full, 1);
});

test('sweep_on_full rate-limits the expiry scan to once per N seconds', () => {
  let now = 0;
  const c = make({ items: 2, blocksize: 8, keysize: 8, sweepOnFull: 10 }, () => now);
  c.set('a', '1', { ttl: 1 });
  c.set('b', '2', { ttl: 1 });
  now = 20_000;
  c.set('c', '3'); // scan allowed: frees a and b
  c.set('d', '4', { ttl: 1 });
  now = 25_000; // d expired, but the last scan was 5 s ago
  assert.throws(() => c.set('e', '5'), code('CACHE_FULL'));
  now = 30_000;
  c.set('e', '5');
  assert.deepEqual(c.keys().sort(), ['c', 'e']);
});

test('purge_lru evicts the least recently used; get refreshes, has does not', () => {
  const c = make({ items: 3, blocksize: 8, keysize: 8, purgeLru: true });
  c.set('a', '1');
  c.set('b', '2');
  c.set('c', '3');
  c.get('a'); // b is now the LRU
  c.has('b'); // has does not refresh
  c.set('d', '4');
  assert.deepEqual(c.keys().sort(), ['a', 'c', 'd']);
  c.set('c', '33'); // update refreshes: a is LRU
  c.set('e', '5');
  assert.deepEqual(c.keys().sort(), ['c', 'd', 'e']);
  const s = c.stats();
  assert.equal(s.evictions, 2);
  assert.equal(s.full, 2);
  assert.deepEqual(c.verify(), []);
});

test('clear_on_full empties the cache; ignore_full returns false instead of throwing', () => {
  const a = make({ items: 2, blocksize: 8, keysize: 8, clearOnFull: true });
  a.set('a', '1');
  a.set('b', '2');
  a.set('c', '3');
  assert.deepEqual(a.keys(), ['c']);
  const b = make({ items: 1, blocksize: 8, keysize: 8, ignoreFull: true });
  assert.equal(b.set('a', '1'), true);
  assert.equal(b.set('b', '2'), false);
  assert.equal(b.add('b', '2'), false);
  assert.equal(b.get('b'), undefined);
});

test('bitmap mode: values span contiguous blocks, updates reallocate, fragmentation, full', () => {
  const c = make({ items: 10, blocksize: 10, blocks: 10, bitmap: true, keysize: 8 });
  assert.equal(c.maxValueBytes, 100);
  c.set('a', 'x'.repeat(35)); // 4 blocks
  c.set('b', 'y'.repeat(20)); // 2 blocks
  c.set('c', 'z'.repeat(40)); // 4 blocks: full
  assert.deepEqual(c.verify(), []);
  assert.throws(() => c.set('d', '1'), (e: unknown) => code('CACHE_FULL')(e) && /run of 1 free blocks/.test((e as Error).message));
  c.set('e', ''); // empty value needs no block
  assert.equal(c.get('e'), '');
  c.delete('b'); // 2-block hole
  assert.throws(() => c.set('d', 'q'.repeat(30)), code('CACHE_FULL'), 'no 3-block run');
  c.set('d', 'q'.repeat(20));
  assert.equal(c.get('d'), 'q'.repeat(20));
  c.set('a', 'A'.repeat(5)); // shrink in place frees 3 blocks
  c.set('f', 'F'.repeat(30));
  assert.equal(c.get('f'), 'F'.repeat(30));
  assert.equal(c.get('a'), 'AAAAA');
  assert.equal(c.get('c'), 'z'.repeat(40));
  assert.deepEqual(c.verify(), []);
  assert.throws(() => c.set('g', 'g'.repeat(101)), code('CACHE_VALUE_TOO_LARGE'));
});

test('bitmap + purge_lru evicts until a run fits, never the entry being updated', () => {
  const c = make({ items: 10, blocksize: 10, blocks: 6, bitmap: true, keysize: 8, purgeLru: true });
  c.set('a', 'a'.repeat(20));
  c.set('b', 'b'.repeat(20));
  c.set('c', 'c'.repeat(20));
  c.set('d', 'd'.repeat(40)); // evicts a and b
  assert.deepEqual(c.keys().sort(), ['c', 'd']);
  c.set('c', 'C'.repeat(40)); // c is LRU; growing it must evict d, not c
  assert.deepEqual(c.keys(), ['c']);
  assert.equal(c.get('c'), 'C'.repeat(40));
  assert.deepEqual(c.verify(), []);
});

test('math: inc/dec/mul/div, math_initial, 64-bit wrap, errors', () => {
  const c = make({ items: 8, blocksize: 16, keysize: 8, mathInitial: 10n });
  assert.equal(c.inc('n'), 11n);
  assert.equal(c.inc('n', 4), 15n);
  assert.equal(c.dec('n', 5n), 10n);
  assert.equal(c.mul('n'), 20n);
  assert.equal(c.div('n', 3), 6n);
  assert.equal(c.dec('m'), 9n);
  assert.equal(c.getNumber('n'), 6n);
  assert.equal(c.getBytes('n')!.length, 8);
  c.set('max', new Uint8Array(new BigInt64Array([2n ** 63n - 1n]).buffer));
  assert.equal(c.inc('max'), -(2n ** 63n), 'wraps like int64');
  c.set('s', 'abc');
  assert.throws(() => c.inc('s'), code('CACHE_NOT_A_NUMBER'));
  assert.throws(() => c.getNumber('s'), code('CACHE_NOT_A_NUMBER'));
  assert.throws(() => c.div('n', 0), RangeError);
  assert.throws(() => c.inc('n', 1.5), RangeError);
  assert.equal(c.getNumber('missing'), undefined);
});

test('math keeps the expiry unless a ttl is given', () => {
  let now = 0;
  const c = make({ items: 4, blocksize: 8, keysize: 8 }, () => now);
  c.inc('n', 1, { ttl: 10 });
  now = 5000;
  c.inc('n');
  now = 10_000;
  assert.equal(c.getNumber('n'), undefined);
});

test('errors name the cache, the size and the limit', () => {
  const c = make({ items: 1, blocksize: 4, keysize: 3 });
  assert.throws(() => c.set('abcd', 'x'), (e: unknown) => code('CACHE_KEY_TOO_LONG')(e) && /"t".*4 bytes.*keysize 3/.test((e as Error).message));
  assert.throws(() => c.get('abcd'), code('CACHE_KEY_TOO_LONG'));
  assert.throws(() => c.set('a', '12345'), (e: unknown) => code('CACHE_VALUE_TOO_LARGE')(e) && /"t".*5 bytes.*4/.test((e as Error).message));
  c.set('a', '1');
  assert.throws(() => c.set('b', '2'), (e: unknown) => code('CACHE_FULL')(e) && /"t" is full.*1\/1 items/.test((e as Error).message));
  assert.throws(() => c.inc('z'), code('CACHE_FULL'));
  assert.throws(() => c.set('a', 5 as unknown as string), TypeError);
});

test('unknown cache name', () => {
  const core = createSharedCore({ workerSlots: 0, muleSlots: 0, locks: 0, counters: { max: 0, declared: [] }, caches: [] });
  assert.throws(() => core.cache(), code('CACHE_UNKNOWN'));
  assert.throws(() => core.cache('nope'), code('CACHE_UNKNOWN'));
});

test('murmur2 hash and a tiny hash table (long chains) work', () => {
  const c = make({ items: 200, blocksize: 8, keysize: 8, hash: 'murmur2', hashsize: 3 });
  for (let i = 0; i < 200; i++) c.set(`k${i}`, String(i));
  for (let i = 0; i < 200; i++) assert.equal(c.get(`k${i}`), String(i));
  for (let i = 0; i < 200; i += 2) c.delete(`k${i}`);
  assert.equal(c.size, 100);
  assert.deepEqual(c.verify(), []);
});

test('a second attachment (another thread) sees the same data; stats count hits and misses', () => {
  const core = createSharedCore({ workerSlots: 0, muleSlots: 0, locks: 0, counters: { max: 0, declared: [] }, caches: [normalizeCacheSpec({ name: 'x', items: 4, blocksize: 8, keysize: 8 })] });
  const other = attachSharedCore(core.handle, { threadId: 5 });
  core.cache('x').set('k', 'v');
  assert.equal(other.cache('x').get('k'), 'v');
  assert.equal(other.cache('x').get('nope'), undefined);
  const s = core.cache('x').stats();
  assert.equal(s.hits, 1);
  assert.equal(s.misses, 1);
  assert.equal(s.items, 1);
  assert.equal(s.capacity, 4);
  assert.ok(s.memoryBytes > 4 * (8 + 8));
});

test('a dead owner mid-operation: the lock is recovered and the journaled item dropped', () => {
  const core = createSharedCore({ workerSlots: 0, muleSlots: 0, locks: 0, counters: { max: 0, declared: [] }, caches: [normalizeCacheSpec({ name: 'x', items: 8, blocksize: 8, keysize: 8, purgeLru: true })] });
  core.cache().set('keep', 'ok');
  core.cache().set('k', 'v', { ttl: 1000 });
  // Thread 9 takes the cache lock and is terminated while holding it.
  const dead = attachSharedCore(core.handle, { threadId: 9 });
  (dead.cache() as unknown as { lock(): void }).lock();
  assert.equal(core.cache().sweep(Date.now() + 1e7), -1, 'the sweeper never blocks on a busy cache');
  const rep = core.onThreadExit(9); // … and dies
  assert.deepEqual(rep.caches, ['x']);
  assert.equal(core.cache().get('keep'), 'ok');
  assert.deepEqual(core.cache().verify(), []);
  assert.equal(core.cache().stats().repairs, 1);
});

test('a journal record left by an interrupted operation is repaired by the next locker', () => {
  const core = createSharedCore({ workerSlots: 0, muleSlots: 0, locks: 0, counters: { max: 0, declared: [] }, caches: [normalizeCacheSpec({ name: 'x', items: 8, blocksize: 8, blocks: 16, bitmap: true, keysize: 8 })] });
  const c = core.cache();
  c.set('a', '1');
  c.set('b', '22222222222');
  // leave the journal exactly as a thread killed inside insert() would: slot taken, header half
  // written, not linked into any chain
  const it = c as unknown as { h: Int32Array; it: Int32Array; fs: Int32Array };
  const top = it.h[5]! - 1; // H_FREETOP
  const s = it.fs[top]!;
  Atomics.store(it.h, 9, s + 1); // H_JSLOT
  Atomics.store(it.h, 8, 1); // H_JOP = J_SLOT
  it.h[5] = top;
  it.it[s * 10] = 1; // flags = used, garbage header
  it.it[s * 10 + 1] = 3;
  assert.deepEqual(c.verify(), []);
  assert.deepEqual(c.keys().sort(), ['a', 'b']);
  assert.equal(c.get('b'), '22222222222');
  assert.equal(c.stats().repairs, 1);
});

test('a repair run inside get/set/has/delete/inc works on the caller\'s key, not the last repaired one', () => {
  // repair() runs inside lock(), after the caller's key was encoded: it must not reuse that buffer.
  for (const bitmap of [false, true]) {
    const core = createSharedCore({ workerSlots: 0, muleSlots: 0, locks: 0, counters: { max: 0, declared: [] }, caches: [normalizeCacheSpec({ name: 'x', items: 8, blocksize: 16, keysize: 16, purgeLru: !bitmap, bitmap, ...(bitmap ? { blocks: 32 } : {}) })] });
    const c = core.cache();
    let tid = 10;
    const killHolder = (): void => {
      const dead = attachSharedCore(core.handle, { threadId: ++tid });
      (dead.cache() as unknown as { lock(): void }).lock();
      assert.deepEqual(core.onThreadExit(tid).caches, ['x']);
    };
    c.set('k1', 'v1');
    c.set('a-longer-key', 'v2'); // the highest slot: the last key a repair looks at
    const repairs = (): number => c.stats().repairs;
    const ops: [string, () => void][] = [
      ['get', () => assert.equal(c.get('k1'), 'v1')],
      ['getBytes', () => assert.deepEqual(c.getBytes('k1'), new TextEncoder().encode('v1'))],
      ['has', () => assert.equal(c.has('k1'), true)],
      ['set', () => assert.equal(c.set('new', 'x'), true)],
      ['add', () => assert.equal(c.add('k2', 'y'), true)],
      ['inc', () => assert.equal(c.inc('n'), 1n)],
      ['getNumber', () => assert.equal(c.getNumber('n'), 1n)],
      ['delete', () => assert.equal(c.delete('k2'), true)],
    ];
    for (const [name, op] of ops) {
      const before = repairs();
      killHolder();
      op();
      assert.equal(repairs(), before + 1, `${name}: repaired once`);
      assert.deepEqual(c.verify(), [], `${name}: consistent`);
    }
    assert.deepEqual(c.keys().sort(), ['a-longer-key', 'k1', 'n', 'new']);
    for (const k of c.keys()) assert.notEqual(c.get(k), undefined, k);
  }
});

test('the checker detects corruption', () => {
  const c = make({ items: 8, blocksize: 8, keysize: 8, purgeLru: true });
  c.set('a', '1');
  c.set('b', '2');
  const raw = c as unknown as { it: Int32Array; h: Int32Array };
  raw.it[0 * 10 + 6] = 0; // cut a's hash-chain link (or b's)
  raw.it[1 * 10 + 6] = 0;
  raw.h[4] = 5; // count
  const problems = (c as unknown as { verifyLocked(): string[] }).verifyLocked();
  assert.ok(problems.length > 0);
});
