// Cron schedules: crontab strings, uWSGI fields (-1 any, -N every Nth), the day/weekday OR rule,
// and the config line parsers (cron, cron2, timer, farm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSchedule, matches, parseCronLine, parseCron2Line, parseTimerLine, parseFarm } from '../src/config/cron.js';

// 2026-03-02 is a Monday (weekday 1). Local-time Date constructor, so TZ does not matter.
const at = (day: number, hour: number, minute: number, month = 3) => new Date(2026, month - 1, day, hour, minute);

test('crontab strings: values, lists, ranges, steps', () => {
  const s = parseSchedule('20 * * * *');
  assert.ok(matches(s, at(2, 10, 20)));
  assert.ok(!matches(s, at(2, 10, 21)));
  const t = parseSchedule('*/15 9-17 * * 1-5');
  assert.ok(matches(t, at(2, 9, 45)));
  assert.ok(!matches(t, at(2, 8, 45)));
  assert.ok(!matches(t, at(1, 9, 45)), 'Sunday');
  assert.ok(matches(parseSchedule('0 0 * * 7'), at(1, 0, 0)), '7 is Sunday');
  assert.throws(() => parseSchedule('61 * * * *'), /out of range/);
  assert.throws(() => parseSchedule('* * * *'), /5 fields/);
});

test('uWSGI fields: -1 any, -N every Nth, exact values', () => {
  const s = parseSchedule({ minute: -5, hour: -1 });
  assert.ok(matches(s, at(2, 3, 10)));
  assert.ok(!matches(s, at(2, 3, 11)));
  assert.ok(matches(parseSchedule({ month: -3, minute: 0, hour: 0, day: 1 }), at(1, 0, 0, 6)), 'June is every 3rd month');
  assert.throws(() => parseSchedule({ minute: 0, hours: 1 } as never), /unknown cron field 'hours'/);
});

test('day and weekday are ORed only when both are explicit', () => {
  const both = parseSchedule({ minute: 0, hour: 0, day: 15, weekday: 1 });
  assert.ok(matches(both, at(2, 0, 0)), 'a Monday, not the 15th');
  assert.ok(matches(both, at(15, 0, 0)), 'the 15th, a Sunday');
  const dayOnly = parseSchedule({ minute: 0, hour: 0, day: 15, weekday: -1 });
  assert.ok(!matches(dayOnly, at(2, 0, 0)));
  const str = parseSchedule('0 0 15 * 1');
  assert.ok(matches(str, at(2, 0, 0)) && matches(str, at(15, 0, 0)));
  const stepWeekday = parseSchedule('0 0 15 * */1');
  assert.ok(!matches(stepWeekday, at(2, 0, 0)), "'*/1' is not explicit: ANDed");
});

test('config lines: cron, cron2, timer, farm', () => {
  const c = parseCronLine('-1 -1 -1 -1 -1 echo hi there');
  assert.equal(c.command, 'echo hi there');
  assert.equal(c.unique, false);
  assert.throws(() => parseCronLine('* * * * * echo'), /use -1/);
  const c2 = parseCron2Line('minute=30,hour=3,unique=1,harakiri=5 /usr/bin/backup --all');
  assert.deepEqual([c2.command, c2.unique, c2.harakiri], ['/usr/bin/backup --all', true, 5]);
  assert.ok(matches(c2.schedule, at(2, 3, 30)));
  assert.throws(() => parseCron2Line('minut=3 x'), /unknown key 'minut'/);
  assert.deepEqual(parseTimerLine('17 30'), { signal: 17, seconds: 30 });
  assert.throws(() => parseTimerLine('300 1'), /SIGNUM 0..255/);
  assert.deepEqual(parseFarm('jobs:1, 3'), { name: 'jobs', mules: [1, 3] });
  assert.throws(() => parseFarm('jobs'), /NAME:MULE/);
});
