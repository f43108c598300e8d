// Timers, crons, signals, mules, mulefunc and offload through the real CLI
// (fixture: test/fixtures/background/app.mjs; mule program: mule.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSpindle, get, fixture, until, type Running, type LogLine } from './helpers/spindle.js';
import type { LogEvent } from '../src/log/events.js';

const APP = fixture('background/app.mjs');
const MULE = fixture('background/mule.mjs');
const base = ['--http-socket', '127.0.0.1:0'];

async function json(s: Running, path: string): Promise<Record<string, unknown>> {
  const r = await get(`${s.url}${path}`);
  assert.equal(r.status, 200, `${path}: ${r.body.toString()}`);
  return JSON.parse(r.body.toString()) as Record<string, unknown>;
}
const counters = (s: Running) => json(s, '/counters') as Promise<Record<string, number>>;
const logs = (s: Running, event: LogEvent, pred: (l: LogLine) => boolean = () => true) => s.lines.filter((l) => l.event === event && pred(l));

test('timers fire once per tick with several workers; unique skips overlapping runs', async () => {
  const s = await startSpindle([APP, ...base, '--processes', '3', '--log-level', 'debug'], { env: { BG_TIMER: '1', BG_UNIQUE: '1' } });
  try {
    await until(async () => ((await counters(s))['timer-runs'] ?? 0) >= 6, 15000, 'six timer runs');
    const c = await counters(s);
    const fired = logs(s, 'TIMER_FIRED', (l) => l.timer === 'tick');
    // the master's own count of ticks, against the runs the handler counted (one may be in flight)
    assert.ok(Math.abs(fired.length - c['timer-runs']!) <= 1, `fired ${fired.length}, ran ${c['timer-runs']}`);
    assert.deepEqual(fired.map((l) => l.tick), fired.map((_, i) => i + 1), 'ticks are 1, 2, 3, … once each');
    // every worker registered both timers; the master keeps one of each
    assert.equal(logs(s, 'TIMER_REGISTERED', (l) => l.timer === 'tick').length, 1);
    const unnamed = logs(s, 'TIMER_REGISTERED', (l) => String(l.timer).startsWith('timer@'));
    assert.equal(unnamed.length, 1, 'the unnamed timer is named by its call site');
    assert.match(String(unnamed[0]!.timer), /app\.mjs:\d+:\d+$/);
    assert.ok(logs(s, 'TIMER_ALREADY_REGISTERED', (l) => l.timer === 'tick').length >= 2);
    const fired2 = logs(s, 'TIMER_FIRED', (l) => l.timer === unnamed[0]!.timer).length;
    assert.ok(Math.abs(fired2 - (c['timer2-runs'] ?? 0)) <= 1);
    // unique: a 50 ms timer whose handler takes 200 ms never overlaps, and says it skipped
    await until(() => logs(s, 'RUN_SKIPPED', (l) => l.timer === 'uniq').length > 0, 10000, 'a unique skip');
    assert.equal((await counters(s))['uniq-overlap'] ?? 0, 0);
  } finally {
    await s.stop();
  }
});

test('crons fire once in each matching minute (simulated clock); command crons log output and exit', async () => {
  // TEST ONLY clock: starts at 10:19:50 UTC, 30× real time (a minute every 2 s)
  const s = await startSpindle([APP, ...base, '--processes', '2', '--log-level', 'debug',
    '--cron', '-1 -1 -1 -1 -1 echo hello from cron; echo oops >&2; exit 3',
    '--cron2', 'minute=-1,harakiri=1 echo slow; sleep 30',
    '--unique-cron', '-1 -1 -1 -1 -1 sleep 5',
  ], { env: { BG_CRON: '1', TZ: 'UTC', TEST_ONLY_SPINDLE_CRON_CLOCK: '2026-03-02T10:19:50Z@30' } });
  try {
    assert.ok(s.lines.some((l) => l.event === 'TEST_CLOCK'), 'the test clock is announced');
    await s.waitForLog((l) => l.event === 'CRON_FIRED' && l.cron === 'every' && l.at === '2026-03-02T10:22', 20000, 'the 10:22 run');
    await until(async () => ((await counters(s))['cron-every-22'] ?? 0) >= 1, 10000, 'the 10:22 handler');
    const c = await counters(s);
    assert.equal(c['cron-20'], 1, 'the "20 * * * *" cron ran once, in minute 20');
    assert.deepEqual(logs(s, 'CRON_FIRED', (l) => l.cron === 'at-20').map((l) => l.at), ['2026-03-02T10:20']);
    for (const m of [19, 20, 21, 22]) assert.equal(c[`cron-every-${m}`], 1, `minute ${m} ran once`);
    const every = logs(s, 'CRON_FIRED', (l) => l.cron === 'every').map((l) => l.at);
    assert.deepEqual(every.slice(0, 4), ['2026-03-02T10:19', '2026-03-02T10:20', '2026-03-02T10:21', '2026-03-02T10:22']);
    // command crons: output lines and exit status
    const out = logs(s, 'CRON_OUTPUT');
    assert.ok(out.some((l) => l.stream === 'stdout' && l.line === 'hello from cron'));
    assert.ok(out.some((l) => l.stream === 'stderr' && l.line === 'oops'));
    await s.waitForLog((l) => l.event === 'CRON_FAILED' && l.code === 3, 10000, 'the exit status');
    // cron2 harakiri=1: killed with its process group
    await s.waitForLog((l) => l.event === 'CRON_HARAKIRI', 10000, 'cron harakiri');
    await s.waitForLog((l) => l.event === 'CRON_FAILED' && l.harakiri === true && l.signal === 'SIGKILL', 10000, 'the killed command');
    // unique-cron: skipped while the previous sleep 5 is alive
    await s.waitForLog((l) => l.event === 'CRON_SKIPPED', 10000, 'a unique-cron skip');
  } finally {
    await s.stop();
  }
});

test('signals reach their targets; no handler is an error in the log', async () => {
  const s = await startSpindle([APP, ...base, '--processes', '3', '--mule', MULE, '--mules', '2', '--farm', 'pair:2,3'], { env: { BG_SIGNALS: '1' } });
  try {
    for (const n of [10, 11, 12, 13, 14, 15, 16, 17, 'named', 20, 99, 21]) await json(s, `/raise?n=${n}`);
    const want: Record<string, (c: Record<string, number>) => boolean> = {
      worker: (c) => sum(c, /^sig10-w\d$/) === 1,
      workers: (c) => ['w1', 'w2', 'w3'].every((w) => c[`sig11-${w}`] === 1),
      worker2: (c) => c['sig12-w2'] === 1 && sum(c, /^sig12-/) === 1,
      mule1: (c) => c['sig13-m1'] === 1 && sum(c, /^sig13-/) === 1,
      mules: (c) => ['m1', 'm2', 'm3'].every((m) => c[`sig14-${m}`] === 1) && sum(c, /^sig14-w/) === 0,
      'farm:pair': (c) => sum(c, /^sig15-m[23]$/) === 1 && sum(c, /^sig15-/) === 1,
      'active-workers': (c) => ['w1', 'w2', 'w3'].every((w) => c[`sig16-${w}`] === 1),
      mule: (c) => sum(c, /^sig17-m\d$/) === 1 && sum(c, /^sig17-w/) === 0,
      worker3: (c) => c['signamed-w3'] === 1 && sum(c, /^signamed-/) === 1,
    };
    let last: Record<string, number> = {};
    const c = await until(async () => {
      const c = last = await counters(s);
      return Object.values(want).every((ok) => ok(c)) && c['sig20-w1'] === 1 ? c : null;
    }, 10000, 'every signal delivered').catch((e: Error) => { throw new Error(`${e.message}: ${JSON.stringify(last)}`); });
    for (const [target, ok] of Object.entries(want)) assert.ok(ok(c), target);
    // signal 20 goes to every worker but only worker 1 registered its handler
    await until(() => logs(s, 'RUN_LOST', (l) => String(l.signal) === '20' && l.where === 'worker2').length === 1 &&
      logs(s, 'RUN_LOST', (l) => String(l.signal) === '20' && l.where === 'worker3').length === 1, 10000, 'no-handler errors');
    assert.equal(logs(s, 'SIGNAL_UNHANDLED', (l) => String(l.signal) === '99').length, 1);
    assert.equal(logs(s, 'SIGNAL_REGISTERED', (l) => l.signal === '10').length, 1, 'registered once for all workers');
    // the handler's error crossed from the worker to the master's log with its name, code and stack
    const failed = await s.waitForLog((l) => l.signal === '21' && (l.err as { code?: string } | undefined)?.code === 'APP_OWN_CODE', 10000, 'the failed handler logged');
    const err = failed.err as { name: string; message: string; stack: string };
    assert.equal(err.name, 'RangeError');
    assert.equal(err.message, 'signal 21 fails on purpose');
    assert.match(err.stack, /^RangeError: signal 21 fails on purpose\n\s+at .*app\.mjs/);
  } finally {
    await s.stop();
  }
});

test('mule messages reach the right mule or farm; mulefunc runs in a mule; offload runs and times out', async () => {
  const s = await startSpindle([APP, ...base, '--processes', '2', '--mule', MULE, '--mules', '2', '--farm', 'pair:2,3', '--offload-threads', '1']);
  try {
    assert.deepEqual(await json(s, `/mule?m=${enc({ tag: 'one' })}&target=1`), { queued: true });
    assert.deepEqual(await json(s, `/mule?m=${enc({ tag: 'named' })}&target=mule1`), { queued: true });
    assert.deepEqual(await json(s, '/mf?tag=any'), { queued: true });
    assert.deepEqual(await json(s, '/mf?tag=farm&farm=1'), { queued: true });
    const bad = await json(s, `/mule?m=${enc({})}&target=farm:nope`);
    assert.equal(bad.code, 'TARGET_INVALID');
    const c = await until(async () => {
      const c = await counters(s);
      return c['mm-one-m1'] === 1 && c['mm-named-m1'] === 1 && sum(c, /^mf-any-m\d$/) === 1 && sum(c, /^mff-farm-m[23]$/) === 1 ? c : null;
    }, 10000, 'messages handled');
    assert.equal(sum(c, /^mf-any-w/) + sum(c, /^mff-farm-(w|m1)/), 0, 'mulefunc ran in mules only');
    // offload: a self-contained function, a module export, a timeout, and a closure (refused)
    assert.equal((await json(s, '/offload?kind=fn&n=30')).value, 832040);
    assert.equal((await json(s, '/offload?kind=module&n=20')).value, 6765);
    const slow = await json(s, '/offload?kind=timeout&ms=300');
    assert.equal(slow.code, 'OFFLOAD_TIMEOUT');
    assert.ok(s.lines.some((l) => l.event === 'OFFLOAD_TIMEOUT'));
    assert.equal((await json(s, '/offload?kind=fn&n=10')).value, 55, 'the pool recovers after a timeout');
    const closure = await json(s, '/offload?kind=closure');
    assert.equal(closure.code, 'OFFLOAD_FAILED');
    // the task thread's error crosses whole: its own message, and its stack from the task thread
    assert.equal(closure.error, 'secret is not defined');
    assert.equal(closure.name, 'SpindleError');
    assert.match(String(closure.stack), /^ReferenceError: secret is not defined\n\s+at /);
  } finally {
    await s.stop();
  }
});

test('a full mule queue says false; queued messages survive a mule crash and mule-harakiri; mules drain on SIGTERM', async () => {
  const s = await startSpindle([APP, ...base, '--processes', '1', '--mule', MULE, '--mule', MULE, '--mule-msg-queue', '3', '--mule-harakiri', '2']);
  try {
    // mule 1 holds a message until counter 'go' is set, then crashes
    assert.deepEqual(await json(s, `/mule?m=${enc({ op: 'crash-when', key: 'go' })}&target=1`), { queued: true });
    await until(async () => (await counters(s))['holding-go'] === 1, 10000, 'mule 1 holding its message');
    for (let i = 0; i < 3; i++) assert.deepEqual(await json(s, `/mule?m=${enc({ tag: 'a' })}&target=1`), { queued: true });
    assert.deepEqual(await json(s, `/mule?m=${enc({ tag: 'a' })}&target=1`), { queued: false }, 'the fourth does not fit');
    await s.waitForLog((l) => l.event === 'MULE_QUEUE_FULL' && l.mule === 1, 10000, 'the refusal logged'); // stdout may arrive after the answer
    await json(s, '/set?name=go&value=1');
    await s.waitForLog((l) => (l.event === 'MULE_DIED' || l.event === 'MULE_KILLED') && l.mule === 1, 10000, 'mule 1 ends');
    await until(async () => (await counters(s))['mm-a-m1'] === 3, 10000, 'the three queued messages after the respawn');
    // mule 2 sleeps far past mule-harakiri with a message queued behind
    await json(s, `/mule?m=${enc({ op: 'sleep', ms: 600000, tag: 'never' })}&target=2`);
    await json(s, `/mule?m=${enc({ tag: 'b' })}&target=2`);
    await s.waitForLog((l) => l.event === 'MULE_HARAKIRI' && l.mule === 2, 15000, 'mule harakiri');
    // its exit carries the code the master decided on, not a text
    await s.waitForLog((l) => l.event === 'MULE_KILLED' && l.mule === 2 && l.reason === 'mule-harakiri', 10000, 'mule 2 killed for mule-harakiri');
    await until(async () => (await counters(s))['mm-b-m2'] === 1, 10000, 'the queued message after the harakiri');
    assert.equal((await counters(s))['mm-never-m2'] ?? 0, 0);
    // graceful stop: queued work is finished first
    await json(s, `/mule?m=${enc({ op: 'sleep', ms: 300, tag: 'last' })}&target=1`);
    await json(s, `/mule?m=${enc({ tag: 'last2' })}&target=1`);
    const { code } = await s.stop('SIGTERM');
    assert.equal(code, 0);
    assert.ok(s.lines.some((l) => l.event === 'MULES_DRAINING'));
    assert.equal(s.lines.filter((l) => l.event === 'MULE_EXITED' && l.reason === 'shutdown').length, 2);
    assert.ok(!s.lines.some((l) => l.event === 'MULE_MESSAGES_DISCARDED'));
  } finally {
    await s.stop();
  }
});

function sum(c: Record<string, number>, re: RegExp): number {
  return Object.entries(c).filter(([k]) => re.test(k)).reduce((n, [, v]) => n + v, 0);
}
const enc = (v: unknown): string => encodeURIComponent(JSON.stringify(v));
