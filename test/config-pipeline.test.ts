// The typed option pipeline (issue 18, item 1): structured options are parsed once, by their parse
// hook in the option table, and the master's settings use that result; cross-option rules are
// declared beside the table (RULES in rules.ts), each naming the options it relates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspectConfig, loadConfig, findOption } from '../src/config/index.js';
import { RULES } from '../src/config/rules.js';
import { settingsFromConfig } from '../src/master/settings.js';

test('cron, cron2, unique-cron, timer, farm and cache2 are parsed once; the settings hold those very results', () => {
  const loaded = loadConfig({ env: {}, overrides: {
    cron: '0 3 -1 -1 -1 /bin/true', uniqueCron: '-1 -1 -1 -1 -1 /bin/echo u', cron2: 'minute=5,harakiri=7 /bin/echo two',
    timer: '17 30', mules: 2, farm: 'jobs:1,2', cache2: 'name=c1,items=10',
  } });
  const { parsed } = loaded;
  assert.equal(parsed.cron[0]!.command, '/bin/true');
  assert.equal(parsed.uniqueCron[0]!.unique, true);
  assert.equal(parsed.cron2[0]!.harakiri, 7);
  assert.deepEqual(parsed.timer, [{ signal: 17, seconds: 30 }]);
  assert.deepEqual(parsed.farm, [{ name: 'jobs', mules: [1, 2] }]);
  assert.equal(parsed.cache2[0]!.name, 'c1');
  assert.equal(parsed.chownSocket, undefined);
  const s = settingsFromConfig(loaded);
  assert.deepEqual(s.background.commandCrons, [parsed.cron[0], parsed.uniqueCron[0], parsed.cron2[0]]);
  assert.ok(s.background.commandCrons.every((c, i) => c === [parsed.cron[0], parsed.uniqueCron[0], parsed.cron2[0]][i]), 'the parsed objects, not copies');
  assert.equal(s.background.signalTimers, parsed.timer);
  assert.equal(s.background.farms, parsed.farm);
  assert.equal(s.shm.caches[0], parsed.cache2[0]);
  assert.deepEqual(s.background.mules.map((m) => m.farms), [['jobs'], ['jobs']]);
});

test("a parse hook's error is the option's CONFIG_INVALID_VALUE, naming where the value came from", () => {
  const r = inspectConfig({ env: {}, argv: ['--farm', 'jobs:0', '--cron', '* * * * * x'] });
  assert.deepEqual(r.problems.map((p) => [p.code, p.option]), [['CONFIG_INVALID_VALUE', 'farm'], ['CONFIG_INVALID_VALUE', 'cron']]);
  assert.match(r.problems[0]!.message, /^flag --farm: invalid --farm 'jobs:0': farm 'jobs:0': mule ids start at 1$/);
  assert.deepEqual(r.parsed.farm, []);
});

test('every cross-option rule names options of the table; its finding is reported against the first, with that origin', () => {
  for (const rule of RULES) {
    assert.ok(rule.options.length > 0);
    for (const name of rule.options) assert.equal(findOption(name)?.name, name, `rule option ${name}`);
  }
  const r = inspectConfig({ env: {}, argv: ['--harakiri', '0', '--harakiri-graceful-timeout', '5'] });
  assert.deepEqual(r.problems.map((p) => [p.code, p.option, p.origin]),
    [['CONFIG_CONFLICT', 'harakiri-graceful-timeout', { kind: 'flag', name: '--harakiri-graceful-timeout' }]]);
  const w = inspectConfig({ env: {}, argv: ['--stats-http'] }).warnings;
  assert.deepEqual(w.map((x) => [x.code, x.option]), [['CONFIG_NO_EFFECT', 'stats-http']]);
});

test("the master's settings take every default from the table", () => {
  const s = settingsFromConfig(loadConfig({ env: {} }));
  const dflt = (name: string) => findOption(name)!.default as number;
  assert.equal(s.harakiriMs, dflt('harakiri') * 1000);
  assert.equal(s.socketTimeoutMs, dflt('socket-timeout') * 1000);
  assert.equal(s.maxLifetimeMs, dflt('max-worker-lifetime') * 1000);
  assert.equal(s.reloadOnHeapBytes, dflt('reload-on-rss') * 1024 * 1024);
  assert.equal(s.maxBodyBytes, dflt('limit-post'));
  assert.equal(s.backlogLimit, dflt('listen'));
  assert.equal(s.processes, dflt('processes'));
  assert.equal(s.background.muleQueue, dflt('mule-msg-queue'));
  assert.equal(s.processRecycle.timeoutMs, dflt('full-reload-timeout') * 1000);
  assert.equal(s.cheaper, null);
  const c = settingsFromConfig(loadConfig({ env: {}, overrides: { processes: 4, cheaper: 2 } })).cheaper!;
  assert.deepEqual([c.initial, c.step, c.busyness.backlogAlert], [2, dflt('cheaper-step'), dflt('cheaper-busyness-backlog-alert')]);
});
