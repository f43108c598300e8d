// The shared lifecycle mechanics of request workers and mules (src/master/thread-life.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CrashBackoff, END_REASONS, endReason, HEALTHY_LIFETIME_MS, MAX_BACKOFF_MS } from '../src/master/thread-life.js';
import { EXIT_REASONS } from '../src/shm/scoreboard.js';

test('crash back-off: the first crash respawns at once, then 100 ms doubling up to the cap', () => {
  const b = new CrashBackoff();
  const delays: number[] = [];
  for (let i = 0; i < 10; i++) {
    b.crashed(0);
    delays.push(b.delayMs);
  }
  assert.deepEqual(delays, [0, 100, 200, 400, 800, 1600, 3200, 6400, MAX_BACKOFF_MS, MAX_BACKOFF_MS]);
});

test('crash back-off: a thread that lived long enough starts a new streak; a failed start extends it; reset clears it', () => {
  const b = new CrashBackoff();
  b.crashed(0); b.crashed(0); b.crashed(0);
  assert.equal(b.delayMs, 200);
  b.crashed(HEALTHY_LIFETIME_MS);
  assert.deepEqual([b.streak, b.delayMs], [1, 0]);
  b.failed();
  assert.deepEqual([b.streak, b.delayMs], [2, 100]);
  b.reset();
  assert.deepEqual([b.streak, b.delayMs], [0, 0]);
});

test('exit reason: the code the master decided is kept; a thread that ended on its own crashed, or ran out of heap', () => {
  assert.equal(endReason('max-requests'), 'max-requests');
  assert.equal(endReason('harakiri', new Error('x')), 'harakiri', 'a decided reason wins over the error the end caused');
  assert.equal(endReason(undefined), 'crashed');
  assert.equal(endReason(undefined, new Error('boom')), 'crashed');
  const oom = Object.assign(new Error('Worker terminated due to reaching memory limit: JS heap out of memory'), { code: 'ERR_WORKER_OUT_OF_MEMORY' });
  assert.equal(endReason(undefined, oom), 'oom');
});

test('exit reason: every code maps to a scoreboard exit reason (stats last_exit_reason, worker_exits)', () => {
  for (const [reason, code] of Object.entries(END_REASONS)) assert.ok((EXIT_REASONS as readonly string[]).includes(code), `${reason} → ${code}`);
  assert.deepEqual(
    [END_REASONS['max-requests'], END_REASONS['max-worker-lifetime'], END_REASONS['reload-on-rss'], END_REASONS.harakiri, END_REASONS['mule-harakiri'], END_REASONS.cheaper, END_REASONS.superseded, END_REASONS.crashed],
    ['recycle-requests', 'recycle-lifetime', 'recycle-heap', 'harakiri', 'harakiri', 'cheaped', 'normal', 'error'],
  );
});
