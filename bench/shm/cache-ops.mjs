#!/usr/bin/env node
// One cache operation in a loop, single-threaded, to count its CPU instructions (the shared-memory
// cache's hot path, without threads or timers in the way). Wall time on a shared machine is too
// noisy to see a few per cent; an instruction count is not:
//   npx tsc -p . && valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//     node --predictable bench/shm/cache-ops.mjs OP N          # "Collected : <instructions>"
// (or `perf stat -e instructions node …` where the CPU counters are available). --predictable
// makes V8's JIT deterministic, so two runs agree to 0.1 %. Run with N = 100000 and 300000 and
// subtract: (count(300k) − count(100k)) / 200000 is one operation, start-up and warm-up cancelled.
// OP: get | set | delete-set (delete then set the same key) | lru-get (get on a purge_lru cache,
// which moves the item to the LRU tail). Also prints wall-clock ns/op.
import { createSharedCore } from '../../dist/src/shm/layout.js';
import { parseCacheSpec } from '../../dist/src/config/cache2.js';

const OPS = ['get', 'set', 'delete-set', 'lru-get'];
const [op, nText = '1000000'] = process.argv.slice(2);
const n = Number(nText);
if (!OPS.includes(op) || !Number.isInteger(n) || n < 0) {
  console.error(`usage: node bench/shm/cache-ops.mjs ${OPS.join('|')} N`);
  process.exit(2);
}
const KEYS = 1000;
const keys = Array.from({ length: KEYS }, (_, i) => `key-${String(i).padStart(12, '0')}`); // 16 bytes
const VALUE = 'v'.repeat(48) + '0123456789abcdef'; // 64 bytes
const core = createSharedCore({
  workerSlots: 1, muleSlots: 0, locks: 0, counters: { max: 0, declared: [] },
  caches: [parseCacheSpec({ name: 'bench', items: '2000', blocksize: '64', keysize: '16', ...(op === 'lru-get' ? { purge_lru: '1' } : {}) })],
});
const cache = core.cache('bench');
for (const k of keys) cache.set(k, VALUE);
let sink = 0;
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  const k = keys[i % KEYS];
  if (op === 'get' || op === 'lru-get') sink += cache.get(k).length;
  else if (op === 'set') cache.set(k, VALUE);
  else { cache.delete(k); cache.set(k, VALUE); }
}
const ns = Number(process.hrtime.bigint() - t0);
console.log(`${op}: ${n} ops, ${n ? (ns / n).toFixed(1) : 0} ns/op${sink < 0 ? '' : ''}`);
