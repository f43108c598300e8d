// EarliestDeadline (src/worker/earliest-deadline.ts): the earliest harakiri deadline of a worker's
// requests in flight, kept without scanning them all at every finish. Checked against a full scan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EarliestDeadline, type Timed } from '../src/worker/earliest-deadline.js';
import { SlotList } from '../src/worker/slot-list.js';

interface Req extends Timed { slot: number; deadline: number }

function world() {
  const live = new SlotList<Req>();
  const deadlines = new EarliestDeadline<Req>();
  let clock = 0;
  return {
    live, deadlines,
    begin(harakiri: number): Req {
      clock += 1;
      const r: Req = { slot: -1, deadline: harakiri > 0 ? clock + harakiri : 0, deadlineMoved: false };
      live.add(r);
      deadlines.began(r, live.size);
      return r;
    },
    finish(r: Req): void {
      live.remove(r);
      if (live.size === 0) deadlines.clear();
    },
    /** What a scan of every request in flight says. */
    scan(): number {
      let e = 0;
      for (let i = 0; i < live.size; i++) {
        const d = live.at(i).deadline;
        if (d > 0 && (e === 0 || d < e)) e = d;
      }
      return e;
    },
  };
}

test('requests finishing in order, out of order, and with deadlines moved either way: always what a full scan says', () => {
  const w = world();
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const inFlight: Req[] = [];
  for (let step = 0; step < 20_000; step++) {
    const roll = random();
    if (roll < 0.5 || inFlight.length === 0) {
      inFlight.push(w.begin(random() < 0.1 ? 0 : 1000)); // some requests have no deadline
    } else if (roll < 0.9) {
      const i = random() < 0.7 ? 0 : Math.floor(random() * inFlight.length); // mostly the oldest
      w.finish(inFlight.splice(i, 1)[0]!);
    } else {
      const r = inFlight[Math.floor(random() * inFlight.length)]!;
      r.deadline = random() < 0.5 ? Math.max(1, r.deadline - 900) : r.deadline + 5000; // setHarakiri / graceful stage
      w.deadlines.changed(r);
    }
    assert.equal(w.deadlines.earliest(w.live.size), w.scan(), `step ${step}`);
  }
});

test('a long request does not make finished ones pile up behind it, even when the earliest is never read', () => {
  const w = world();
  const long = w.begin(1000);
  for (let i = 0; i < 100_000; i++) w.finish(w.begin(1000)); // each finishes later than `long`: no reason to read
  assert.equal(w.deadlines.earliest(w.live.size), long.deadline);
  const queue = (w.deadlines as unknown as { queue: unknown[] }).queue;
  assert.ok(queue.length < 1000, `the queue holds ${queue.length} entries for 1 request in flight`);
});
