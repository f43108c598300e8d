// TurnBudget (src/worker/turn-budget.ts): CPU-bound handlers take turns with the event loop, so
// that sockets (and the accept queue) are polled between them. A fake clock makes it exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { TurnBudget, TURN_BUDGET_MS } from '../src/worker/turn-budget.js';
import type { Start } from '../src/worker/start-queue.js';

/** What own-http.ts does with each request. */
function run(turns: TurnBudget, start: Start): void {
  if (turns.mayStart()) start();
  else turns.wait(start);
}

test('fast handlers run at once, in the same turn, however many', () => {
  let clock = 0;
  const turns = new TurnBudget(() => clock);
  const ran: number[] = [];
  for (let i = 0; i < 100; i++) run(turns, () => { clock += 0.01; ran.push(i); return true; });
  assert.equal(ran.length, 100); // 1 ms of handler time in all: under the budget
  assert.equal(turns.queued, 0);
});

test('under steady load fast handlers never wait, however many turns follow each other without idling', async () => {
  let clock = 0;
  const turns = new TurnBudget(() => clock);
  let ran = 0;
  for (let turn = 0; turn < 200; turn++) {
    for (let i = 0; i < 5; i++) run(turns, () => { clock += 0.3; ran++; return true; }); // 1.5 ms a turn
    assert.equal(turns.queued, 0, `turn ${turn}: a fast request waited`);
    clock += 0.5; // the loop polls and goes on at once: it never idles for a whole budget
    await nextTurn();
  }
  assert.equal(ran, 1000);
});

test('past the budget, requests wait in arrival order and run a budget per turn, with the loop polled between turns', async () => {
  let clock = 0;
  const turns = new TurnBudget(() => clock);
  const order: string[] = [];
  const cpu = (name: string) => () => { clock += 2; order.push(name); return true; }; // 2 ms handlers
  for (let i = 0; i < 10; i++) run(turns, cpu(`r${i}`));
  const perTurn = Math.ceil(TURN_BUDGET_MS / 2);
  assert.equal(order.length, perTurn, 'the first turn stops at the budget');
  assert.equal(turns.queued, 10 - perTurn);
  // something the event loop has to do meanwhile (a socket event, an accept) gets its turn
  // (setImmediate, not a timer: a 1 ms timer could fire after every turn on a fast machine)
  const polled = new Promise<void>((resolve) => setImmediate(() => { order.push('poll'); resolve(); }));
  await polled;
  for (let i = 0; i < 10 && turns.queued > 0; i++) await nextTurn();
  assert.equal(turns.queued, 0);
  assert.deepEqual(order.filter((n) => n !== 'poll'), Array.from({ length: 10 }, (_, i) => `r${i}`), 'arrival order');
  assert.ok(order.indexOf('poll') < order.length - 1, 'the loop ran between turns, not after all of them');
});

test('a turn that begins inside the last window runs at most about two budgets of handlers, then the rest wait', async () => {
  let clock = 0;
  const turns = new TurnBudget(() => clock);
  run(turns, () => { clock += 0.1; return true; }); // opens a window at 0
  await nextTurn();
  clock = 4; // the next turn, still inside that window: it opens none of its own
  let ran = 0;
  for (let i = 0; i < 10; i++) run(turns, () => { clock += 2; ran++; return true; });
  // started at 4 (old window), 6 (a new window opens), 8 and 10; 12 is past the new window
  assert.equal(ran, 4);
  assert.ok(clock - 4 <= 2 * TURN_BUDGET_MS, `ran ${clock - 4} ms of handlers in one turn`);
  assert.equal(turns.queued, 6);
  for (let i = 0; i < 20 && turns.queued > 0; i++) await nextTurn();
  assert.equal(ran, 10);
});

test('a wall clock that steps back does not leave a window open', async () => {
  let clock = 1_000_000;
  const turns = new TurnBudget(() => clock);
  run(turns, () => true);
  await nextTurn();
  clock = 1000; // NTP stepped the clock back
  let ran = 0;
  for (let i = 0; i < 10; i++) run(turns, () => { clock += 2; ran++; return true; });
  assert.equal(ran, Math.ceil(TURN_BUDGET_MS / 2), 'a fresh window, one budget');
  for (let i = 0; i < 20 && turns.queued > 0; i++) await nextTurn();
  assert.equal(ran, 10);
});

test('a request whose client left while it waited is skipped', async () => {
  let clock = 0;
  const turns = new TurnBudget(() => clock);
  const ran: string[] = [];
  run(turns, () => { clock += TURN_BUDGET_MS; ran.push('long'); return true; });
  run(turns, () => false); // gone
  run(turns, () => { ran.push('next'); return true; });
  for (let i = 0; i < 5 && turns.queued > 0; i++) await nextTurn();
  assert.deepEqual(ran, ['long', 'next']);
});
