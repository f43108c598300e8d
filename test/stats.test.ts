// The stats server through the real CLI: the uWSGI document (every key, order and unit of
// reference §10), Spindle's additions, `spindle stats`, `spindle top` in a tmux pseudo-terminal,
// SIGUSR1, stats-http with /metrics (validated by a small exposition parser) and the health
// answers, readiness flipping during a graceful shutdown, and the loopback-only rule.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSpindle, get, fixture, until, BIN, ROOT, type Running, rawStats } from './helpers/spindle.js';

const APP = fixture('stats/app.mjs');

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// reference §10, in order
const TOP_KEYS = ['version', 'listen_queue', 'listen_queue_errors', 'signal_queue', 'load', 'pid', 'uid', 'gid', 'cwd', 'locks', 'caches', 'sockets', 'workers'];
const WORKER_KEYS = ['id', 'pid', 'accepting', 'requests', 'delta_requests', 'exceptions', 'harakiri_count', 'signals', 'signal_queue', 'status', 'rss', 'vsz', 'running_time', 'last_spawn', 'respawn_count', 'tx', 'avg_rt', 'apps', 'cores'];
const CORE_KEYS = ['id', 'requests', 'static_requests', 'routed_requests', 'offloaded_requests', 'write_errors', 'read_errors', 'in_request', 'vars', 'req_info'];
const APP_KEYS = ['id', 'modifier1', 'mountpoint', 'startup_time', 'requests', 'exceptions', 'chdir'];
const CACHE_KEYS = ['name', 'hash', 'hashsize', 'keysize', 'max_items', 'blocks', 'blocksize', 'items', 'hits', 'miss', 'full', 'last_modified_at'];
const SOCKET_KEYS = ['name', 'proto', 'queue', 'max_queue', 'shared', 'can_offload'];
const SPINDLE_WORKER_KEYS = ['state', 'in_flight', 'heap_used', 'heap_limit', 'external', 'label', 'last_exit_reason', 'last_exit_code'];

const prefix = (o: object, keys: string[]) => assert.deepEqual(Object.keys(o).slice(0, keys.length), keys);
const isInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;


function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('stats (raw, uWSGI-compatible)', () => {
  let s: Running;
  let statsAddr: string;
  const startedS = Math.floor(Date.now() / 1000);

  before(async () => {
    s = await startSpindle([APP, '--http-socket', '127.0.0.1:0', '--processes', '2', '--stats', '127.0.0.1:0',
      '--cache2', 'name=c,items=16', '--counter', 'hits', '--locks', '1']);
    statsAddr = s.lines.find((l) => l.event === 'SERVING')!.stats as string;
    assert.match(statsAddr, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  });
  after(async () => { await s?.stop(); });

  test('the document under load: every key of reference §10, in order, with uWSGI units', async () => {
    // load: plain requests, cache misses then hits, a 404, an exception, a label with characters JSON must escape
    const label = 'job "x"\\y\n\tz ☃';
    const labelled = await get(`${s.url}/label?name=${encodeURIComponent(label)}`);
    const docs: Promise<string>[] = [];
    for (let round = 0; round < 5; round++) {
      await Promise.all([
        ...Array.from({ length: 6 }, () => get(`${s.url}/`)),
        get(`${s.url}/cache?k=a`), get(`${s.url}/cache?k=b`),
      ]);
      docs.push(rawStats(statsAddr)); // read while requests are running
    }
    for (const text of await Promise.all(docs)) JSON.parse(text);
    assert.equal((await get(`${s.url}/nope`)).status, 404);
    assert.equal((await get(`${s.url}/throw`)).status, 500);
    const slow = await get(`${s.url}/slow?ms=300`);
    const slowWorker = Number(slow.headers['x-worker']);

    // The workers report what they served as soon as they are idle: poll until all 44 are in.
    const text = await until(async () => {
      const t = await rawStats(statsAddr);
      return (JSON.parse(t) as Doc).requests === 1 + 5 * 8 + 3 ? t : null;
    }, 5000, 'every request in the stats');
    assert.ok(!/[\x00-\x08\x0b-\x1f]/.test(text), 'no raw control characters: every string is escaped');
    assert.match(text, /\n\t"version"/, 'pretty-printed with tabs by default, as uWSGI');
    const doc = JSON.parse(text) as Doc;
    const nowS = Math.ceil(Date.now() / 1000);

    prefix(doc, TOP_KEYS);
    assert.equal(typeof doc.version, 'string');
    for (const k of ['listen_queue', 'listen_queue_errors', 'signal_queue', 'load', 'pid', 'uid', 'gid']) assert.ok(isInt(doc[k]), k);
    assert.equal(doc.pid, s.serverPid);
    assert.equal(doc.cwd, ROOT.replace(/\/$/, ''));
    assert.deepEqual(doc.locks, [{ 'user 0': 0 }, { 'user 1': 0 }], 'single-key objects: lock name → holder pid or 0');

    assert.equal(doc.caches.length, 1);
    const cache = doc.caches[0];
    prefix(cache, CACHE_KEYS);
    assert.equal(cache.name, 'c');
    assert.equal(cache.max_items, 16);
    assert.equal(cache.items, 2);
    assert.ok(cache.hits >= 8 && cache.miss >= 2, `hits ${cache.hits} miss ${cache.miss}`);

    assert.equal(doc.sockets.length, 1);
    prefix(doc.sockets[0], SOCKET_KEYS);
    assert.equal(doc.sockets[0].proto, 'http');
    assert.equal(doc.sockets[0].name, '127.0.0.1:0');
    assert.equal(doc.sockets[0].address, s.url);

    assert.equal(doc.workers.length, 2);
    let total = 0;
    for (const w of doc.workers) {
      prefix(w, WORKER_KEYS);
      for (const k of SPINDLE_WORKER_KEYS) assert.ok(k in w, `worker.${k}`);
      for (const k of ['id', 'pid', 'accepting', 'requests', 'delta_requests', 'exceptions', 'harakiri_count', 'signals', 'signal_queue', 'rss', 'vsz', 'running_time', 'last_spawn', 'respawn_count', 'tx', 'avg_rt']) {
        assert.ok(isInt(w[k]), `worker ${w.id}.${k} = ${w[k]}`);
      }
      assert.equal(w.pid, s.serverPid, 'workers are threads of the master process');
      assert.equal(w.accepting, 1);
      assert.ok(['idle', 'busy', 'cheap', 'pause'].includes(w.status) || /^sig\d+$/.test(w.status), w.status);
      assert.equal(w.respawn_count, 1, '1 after the first spawn');
      assert.ok(w.last_spawn >= startedS - 2 && w.last_spawn <= nowS, `last_spawn ${w.last_spawn} is epoch seconds`);
      assert.ok(w.rss > 1_000_000 && w.rss === w.heap_used + w.external, 'rss = the worker heap + its external memory, in bytes');
      assert.ok(w.heap_limit > w.heap_used);
      assert.equal(w.last_exit_reason, 'none');
      total += w.requests;
      assert.equal(w.apps.length, 1);
      prefix(w.apps[0], APP_KEYS);
      assert.equal(w.apps[0].requests, w.requests);
      assert.equal(w.cores.length, 1);
      assert.deepEqual(Object.keys(w.cores[0]), CORE_KEYS);
      assert.equal(w.cores[0].requests, w.requests);
    }
    assert.equal(total, 1 + 5 * 8 + 3, 'every request counted once');
    assert.equal(doc.workers.reduce((a: number, w: Doc) => a + w.exceptions, 0), 1);
    const sw = doc.workers[slowWorker - 1];
    // (≥ 250 ms, not 300: a 300 ms timer may fire up to a millisecond before 300 ms have passed since
    // the worker's precise clock read at the request's start, as libuv's loop time is cached; the
    // check is of the unit, which ms would miss by a factor of 1000)
    assert.ok(sw.running_time >= 250_000, `running_time ${sw.running_time} is µs (about the 300 ms request)`);
    assert.ok(sw.avg_rt >= 150_000 && sw.avg_rt <= sw.running_time, `avg_rt ${sw.avg_rt} is µs, uWSGI's ½-weight average`);
    assert.ok(doc.workers.reduce((a: number, w: Doc) => a + w.tx, 0) >= 30 * 'hello from worker 1\n'.length, 'tx in bytes');
    assert.equal(doc.workers[Number(labelled.headers['x-worker']) - 1].label, label, 'the setProcname label, escaped and read back intact');

    // Spindle additions
    assert.deepEqual(doc.mules, []);
    assert.equal(doc.counters.hits, 30);
    assert.equal(doc.requests, total);
    assert.equal(doc.requests_by_status['2xx'], total - 2);
    assert.equal(doc.requests_by_status['4xx'], 1);
    assert.equal(doc.requests_by_status['5xx'], 1);
    assert.ok(doc.latency.window === total && doc.latency.p50 > 0, JSON.stringify(doc.latency));
    assert.ok(doc.latency.p50 <= doc.latency.p90 && doc.latency.p90 <= doc.latency.p99 && doc.latency.p99 <= doc.latency.max);
    assert.ok(doc.latency.max >= 250_000, `percentiles in µs (max ${doc.latency.max} for the 300 ms request)`);
    assert.equal(doc.ready, 1);
    assert.ok(isInt(doc.uptime) && isInt(doc.started_at));
  });

  test('a request in flight: busy, in_flight, in_request', async () => {
    const slow = get(`${s.url}/slow?ms=3000&announce=1`);
    await s.waitForLog((l) => l.msg === 'app: slow request started', 10000, 'the slow request');
    const doc = JSON.parse(await rawStats(statsAddr)) as Doc;
    const w = doc.workers.find((x: Doc) => x.cores[0].in_request === 1);
    assert.ok(w, 'one core is in a request');
    assert.equal(w.status, 'busy');
    assert.equal(w.in_flight, 1);
    assert.equal((await slow).status, 200);
  });

  test('a worker that dies: respawn_count, last exit reason and code', async () => {
    await get(`${s.url}/exit`).catch(() => null);
    const doc = await until(async () => {
      const d = JSON.parse(await rawStats(statsAddr)) as Doc;
      return d.workers.find((w: Doc) => w.respawn_count === 2 && w.status === 'idle') ? d : null;
    }, 15000, 'the respawned worker');
    const w = doc.workers.find((x: Doc) => x.respawn_count === 2);
    assert.equal(w.last_exit_reason, 'error');
    assert.equal(w.last_exit_code, 3);
    assert.ok(w.last_exit_at > 0);
    assert.equal(w.delta_requests, 0, 'delta_requests restarts at the spawn');
    assert.ok(w.requests > 0, 'requests survive the respawn');
    assert.equal(doc.respawns, 1);
    assert.equal(doc.worker_exits.error, 1);
  });

  test('SIGUSR1 writes the stats document to the log as one JSON line', async () => {
    const n = s.lines.length;
    s.proc.kill('SIGUSR1');
    const line = await s.waitForLog((l) => l.event === 'STATS_DUMP' && s.lines.indexOf(l) >= n, 10000, "the 'stats' log line");
    const doc = line.stats as Doc;
    prefix(doc, TOP_KEYS);
    assert.equal(doc.workers.length, 2);
  });

  test('spindle stats ADDR prints it (pretty, or --minified)', () => {
    const addr = statsAddr.replace('tcp://', '');
    const pretty = cli(['stats', addr]);
    assert.equal(pretty.code, 0, pretty.stderr);
    const doc = JSON.parse(pretty.stdout) as Doc;
    prefix(doc, TOP_KEYS);
    assert.ok(pretty.stdout.split('\n').length > 50);
    const min = cli(['stats', addr, '--minified']);
    assert.equal(min.code, 0, min.stderr);
    assert.equal(min.stdout.trim().split('\n').length, 1);
    const none = cli(['stats', '127.0.0.1:1']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /cannot read the stats from 127\.0\.0\.1:1/);
  });

  test('what uwsgitop reads, read by Python', (t) => {
    const py = spawnSync('python3', ['--version'], { encoding: 'utf8' });
    if (py.status !== 0) {
      t.diagnostic('python3 is not installed: the uwsgitop-style read is not run (optional)');
      return;
    }
    const doc = cli(['stats', statsAddr.replace('tcp://', ''), '--minified']).stdout;
    const script = `
import json, sys, time
dd = json.loads(sys.stdin.read())
tot = sum(w['requests'] for w in dd['workers'])
out = ['uwsgi-%s - req: %d - lq: %d - %s %s %s %s' % (dd['version'], tot, dd['listen_queue'], dd['pid'], dd['cwd'], dd['uid'], dd['gid'])]
for w in sorted(dd['workers'], key=lambda x: x['requests'], reverse=True):
    out.append('%d %d %d %d %d %s %.1f %d %d %d %d %d %d %s' % (w['id'], w['pid'], w['requests'], w['delta_requests'], w['exceptions'], w['status'],
        float(w['avg_rt']) / 1000, w['rss'], w['vsz'], w['tx'], w['respawn_count'], w['harakiri_count'], w['running_time'] / 1000,
        time.strftime('%H:%M:%S', time.localtime(w['last_spawn']))))
    for c in w['cores']:
        c['requests'] + c['static_requests'] + c['routed_requests'] + c['offloaded_requests'] + c['write_errors'] + c['read_errors'] + c['in_request']
print('\\n'.join(out))
`;
    const r = spawnSync('python3', ['-c', script], { input: doc, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^uwsgi-\d+\.\d+\.\d+ - req: \d+ - lq: 0 /);
    assert.equal(r.stdout.trim().split('\n').length, 3);
  });

  test('spindle top in a pseudo-terminal (tmux): worker rows, q quits and restores the screen', async () => {
    const has = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
    assert.equal(has.status, 0, 'tmux is needed for this test: apt-get install -y tmux');
    await get(`${s.url}/label?name=${encodeURIComponent('top "label"')}`); // labels reset when a worker respawns
    const tdir = mkdtempSync(join(tmpdir(), 'spindle-top-'));
    const tmux = (...a: string[]) => spawnSync('tmux', ['-S', join(tdir, 'tmux.sock'), '-f', '/dev/null', ...a], { encoding: 'utf8' });
    try {
      // the shell records top's exit status in a file (output written as a pane dies can be lost)
      const statusFile = join(tdir, 'status');
      const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} top ${statsAddr.replace('tcp://', '')}; echo $? > ${JSON.stringify(statusFile)}`;
      const started = tmux('new-session', '-d', '-x', '120', '-y', '30', '-s', 'top', '-c', ROOT, cmd);
      assert.equal(started.status, 0, started.stderr);
      tmux('set-option', '-t', 'top', 'remain-on-exit', 'on'); // keep the screen readable after the shell exits
      const screen = await until(() => {
        const c = tmux('capture-pane', '-p', '-t', 'top').stdout;
        return /WID/.test(c) && /^\s+1\s+\S+\s+\d+/m.test(c) && /^\s+2\s+\S+\s+\d+/m.test(c) && /RPS: \d/.test(c) ? c : null;
      }, 15000, 'the top screen with both worker rows');
      assert.match(screen, /spindle \d+\.\d+\.\d+ .* req: \d+ .* backlog: 0\/1024/);
      assert.match(screen, /WID\s+%\s+REQ\s+RPS\s+EXC\s+STATUS\s+AVG\s+HEAP\s+RESPWN\s+HC\s+LASTSPWN\s+LABEL/);
      assert.match(screen, /top "label"/, 'the label column');
      assert.match(screen, /\bidle\b/);
      // it refreshes: new requests appear in the header
      const before = Number(/req: (\d+)/.exec(screen)![1]);
      await Promise.all(Array.from({ length: 5 }, () => get(`${s.url}/`)));
      await until(() => Number(/req: (\d+)/.exec(tmux('capture-pane', '-p', '-t', 'top').stdout)?.[1] ?? 0) >= before + 5, 10000, 'a refreshed screen');
      tmux('send-keys', '-t', 'top', 'q');
      const status = await until(() => {
        const text = existsSync(statusFile) ? readFileSync(statusFile, 'utf8') : '';
        return text.endsWith('\n') ? text.trim() : null;
      }, 10000, 'top to exit after q').catch((err: Error) => {
        throw new Error(`${err.message}; the screen:\n${tmux('capture-pane', '-p', '-t', 'top').stdout.trim()}`);
      });
      assert.equal(status, '0', 'exit status 0');
      const after = tmux('capture-pane', '-p', '-t', 'top').stdout;
      assert.doesNotMatch(after, /WID/, 'the alternate screen is gone: the terminal is restored');
    } finally {
      tmux('kill-server');
      rmSync(tdir, { recursive: true, force: true });
    }
  });
});

// ---- Prometheus text exposition: a small validating parser ----------------------------------

interface Sample { name: string; labels: Record<string, string>; value: number }
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const familyOf = (name: string) => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = name.slice(0, -suffix.length);
      if (name.endsWith(suffix) && types.get(base) === 'histogram') return base;
    }
    return name;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP (\S+) (.*)$/.exec(line))) {
      assert.match(m[1]!, NAME);
      assert.ok(!helps.has(m[1]!), `one HELP for ${m[1]}`);
      helps.add(m[1]!);
    } else if ((m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      assert.ok(!types.has(m[1]!), `one TYPE for ${m[1]}`);
      types.set(m[1]!, m[2]!);
    } else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line))) {
      const labels: Record<string, string> = {};
      if (m[2]) {
        const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
        let at = 0;
        while (at < m[2].length) {
          re.lastIndex = at;
          const l = re.exec(m[2]);
          assert.ok(l, `label syntax in: ${line}`);
          labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
          at = re.lastIndex;
        }
      }
      const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
      assert.ok(!Number.isNaN(value) || m[3] === 'NaN', `value in: ${line}`);
      const family = familyOf(m[1]!);
      assert.ok(types.has(family), `${m[1]} has a TYPE line before it`);
      if (types.get(family) === 'counter') assert.ok(m[1]!.endsWith('_total') && value >= 0, `counter ${m[1]}`);
      const key = `${m[1]}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}}`;
      assert.ok(!seen.has(key), `series ${key} appears once`);
      seen.add(key);
      samples.push({ name: m[1]!, labels, value });
    } else {
      assert.fail(`not exposition syntax: ${JSON.stringify(line)}`);
    }
  }
  for (const name of types.keys()) assert.ok(helps.has(name), `HELP for ${name}`);
  return { types, samples };
}

describe('stats-http (UNIX socket from an ini file): /, /metrics, health, readiness during shutdown', () => {
  let dir: string;
  let s: Running;
  let sock: string;
  let ini: string;
  const on = (path: string, method = 'GET') => get(`http://localhost${path}`, { socketPath: sock, method });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spindle-stats-'));
    sock = join(dir, 'stats.sock');
    ini = join(dir, 'app.ini');
    writeFileSync(ini, `[uwsgi]\napp = ${APP}\nhttp-socket = 127.0.0.1:0\nprocesses = 1\nstats = ${sock}\nstats-http = true\nstats-minified = true\ncache2 = name=c,items=4\n`);
    s = await startSpindle(['--ini', ini]);
  });
  after(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/ is the minified JSON document; spindle stats --ini finds it', async () => {
    const r = await on('/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    const text = r.body.toString();
    assert.ok(!text.includes('\n'), 'stats-minified');
    prefix(JSON.parse(text) as Doc, TOP_KEYS);
    const c = cli(['stats', '--ini', ini]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal((JSON.parse(c.stdout) as Doc).pid, s.serverPid);
    assert.equal((await on('/nope')).status, 404);
    assert.equal((await on('/', 'POST')).status, 405);
  });

  test('/metrics is valid Prometheus text with the promised families', async () => {
    await Promise.all([get(`${s.url}/`), get(`${s.url}/`), get(`${s.url}/nope`), get(`${s.url}/cache?k=x`), get(`${s.url}/cache?k=x`)]);
    // the worker reports what it served once it is idle, and the scoreboard's busy/idle is sampled
    // every 100 ms: poll until the five requests are in and the worker shows idle
    const r = await until(async () => {
      const x = await on('/metrics');
      const text = x.body.toString();
      return text.includes('spindle_request_duration_seconds_count 5') && /spindle_workers\{state="idle"\} 1\b/.test(text) ? x : null;
    }, 5000, 'the five requests and an idle worker in /metrics');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const { types, samples } = parseExposition(r.body.toString());
    const one = (name: string, labels: Record<string, string> = {}) => {
      const hit = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
      assert.ok(hit, `${name} ${JSON.stringify(labels)}`);
      return hit.value;
    };
    assert.equal(one('spindle_requests_total', { status_class: '2xx' }), 4);
    assert.equal(one('spindle_requests_total', { status_class: '4xx' }), 1);
    assert.equal(types.get('spindle_request_duration_seconds'), 'histogram');
    const buckets = samples.filter((x) => x.name === 'spindle_request_duration_seconds_bucket');
    assert.ok(buckets.length >= 10);
    for (let i = 1; i < buckets.length; i++) {
      const le = (b: Sample) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le));
      assert.ok(le(buckets[i]!) > le(buckets[i - 1]!), 'le increasing');
      assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, 'cumulative counts never decrease');
    }
    assert.equal(buckets.at(-1)!.labels.le, '+Inf');
    assert.equal(buckets.at(-1)!.value, one('spindle_request_duration_seconds_count'), '+Inf = count');
    assert.equal(one('spindle_request_duration_seconds_count'), 5);
    assert.ok(one('spindle_request_duration_seconds_sum') > 0);
    assert.equal(one('spindle_workers', { state: 'idle' }), 1);
    assert.equal(one('spindle_backlog'), 0);
    assert.equal(one('spindle_worker_respawns_total'), 0);
    assert.equal(one('spindle_worker_exits_total', { reason: 'harakiri' }), 0);
    assert.equal(one('spindle_harakiri_total', { reason: 'deadline' }), 0);
    assert.equal(one('spindle_cache_hits_total', { cache: 'c' }), 1);
    assert.equal(one('spindle_cache_misses_total', { cache: 'c' }), 1);
    assert.equal(one('spindle_cache_full_total', { cache: 'c' }), 0);
    assert.equal(one('spindle_cache_items', { cache: 'c' }), 1);
    assert.equal(one('spindle_counter', { name: 'hits' }), 2);
    assert.equal(types.get('spindle_mule_queue_length'), 'gauge');
    assert.ok(one('spindle_uptime_seconds') >= 0);
  });

  test('readiness flips to 503 during a graceful shutdown; liveness stays 200', async () => {
    assert.equal((await on('/health/live')).status, 200);
    const ready = await on('/health/ready');
    assert.equal(ready.status, 200, ready.body.toString());
    const slow = get(`${s.url}/slow?ms=60000&announce=1`).catch((e: Error) => e);
    await s.waitForLog((l) => l.msg === 'app: slow request started', 10000, 'the slow request');
    s.proc.kill('SIGTERM');
    const notReady = await until(async () => {
      const r = await on('/health/ready');
      return r.status === 503 ? r : null;
    }, 10000, 'readiness 503');
    assert.match(notReady.body.toString(), /not ready: shutting down/);
    assert.equal((await on('/health/live')).status, 200, 'the master still runs');
    assert.equal((JSON.parse((await on('/')).body.toString()) as Doc).shutting_down, 1);
    // the worker finishing the slow request is retiring (one state vocabulary, kept in the scoreboard)
    await until(async () => {
      const d = JSON.parse((await on('/')).body.toString()) as Doc;
      return d.workers.some((w: Doc) => w.state === 'retiring' && w.status === 'retiring' && w.accepting === 0);
    }, 10000, 'a retiring worker with the slow request in the stats');
    s.proc.kill('SIGINT'); // a second signal: quick shutdown (the slow request is answered 503)
    const { code } = await s.exited;
    assert.equal(code, 0);
    const answer = await slow;
    assert.ok(!(answer instanceof Error) && answer.status === 503);
    assert.ok(!existsSync(sock), 'the stats socket file is removed');
  });
});

test('stats binds loopback or a UNIX path only, unless stats-public', () => {
  for (const addr of ['0.0.0.0:9191', ':9191', '10.1.2.3:9191']) {
    const r = cli(['check', APP, '--stats', addr]);
    assert.equal(r.code, 1, addr);
    assert.match(r.stderr, /stats-public/);
  }
  for (const args of [['--stats', '127.0.0.1:9191'], ['--stats', 'localhost:9191'], ['--stats', '[::1]:9191'], ['--stats', '/tmp/s.sock'], ['--stats', ':9191', '--stats-public']]) {
    const r = cli(['check', APP, ...args]);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
});

