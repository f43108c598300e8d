// The default serving path through the real CLI: every worker thread accepts and parses HTTP
// itself on the shared listening socket (accept = workers). Serving (fetch and Node apps, bodies,
// the spread over workers, fair sharing of kept-alive connections), concurrency as a cap, the
// limits the front enforces (limit-post, buffer-size), harakiri of a responsive and of a stuck
// worker, recycling and chain reloads under load, graceful shutdown, the stats document, and the
// configurations that are refused.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import autocannon from 'autocannon';
import { startSpindle, get, raw, fixture, until, BIN, ROOT, type Running, type LogLine, rawStats } from './helpers/spindle.js';

const APP = fixture('accept/app.mjs');
const NODE_APP = fixture('accept/node-app.mjs');
const HELLO = `${ROOT}examples/hello/app.mjs`;
const base = ['--http-socket', '127.0.0.1:0', '--min-worker-lifetime', '0'];

async function withServer(app: string, args: string[], fn: (s: Running) => Promise<void>): Promise<void> {
  const s = await startSpindle([app, ...base, ...args]);
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

/** Fresh connections (no agent, Connection: close) until every worker id in `want` answered. */
async function seenWorkers(url: string, want: string[], id: (r: Awaited<ReturnType<typeof get>>) => string): Promise<Set<string>> {
  const seen = new Set<string>();
  await until(async () => {
    const r = await get(url, { headers: { connection: 'close' } });
    assert.equal(r.status, 200, r.body.toString());
    seen.add(id(r));
    return want.every((w) => seen.has(w));
  }, 15000, `answers from workers ${want.join(', ')} (seen so far: ${[...seen].join(', ')})`);
  return seen;
}

const exitLines = (s: Running, worker?: number) => s.lines.filter((l) =>
  ['WORKER_EXITED', 'WORKER_DIED', 'WORKER_RESPAWNED'].includes(String(l.event)) && (worker === undefined || l.worker === worker));

const CHUNKED_ECHO = 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';

describe('a fetch app (2 workers, limit-post 1k, buffer-size 2k)', () => {
  let s: Running;
  before(async () => {
    s = await startSpindle([APP, ...base, '--processes', '2', '--limit-post', '1k', '--buffer-size', '2k']);
  });
  after(async () => { await s?.stop(); });

  test('answers 200, and fresh connections reach both workers', async () => {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(s.url).port, '0', 'the bound port is reported');
    const r = await get(`${s.url}/`);
    assert.equal(r.status, 200);
    assert.match(r.body.toString(), /^hello from worker [12]\n$/);
    const seen = await seenWorkers(`${s.url}/`, ['1', '2'], (x) => String(x.headers['x-worker']));
    assert.deepEqual([...seen].sort(), ['1', '2']);
  });

  test('POST body echo, Content-Length and chunked', async () => {
    const bytes = Buffer.alloc(1000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256;
    const r = await get(`${s.url}/echo`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-length'], '1000');
    assert.deepEqual(r.body, bytes);
    const reply = await raw(s.url, CHUNKED_ECHO);
    assert.match(reply, /^HTTP\/1.1 200/);
    assert.match(reply, /\r\n\r\nhello world$/);
  });

  test('a body over limit-post → 413 (by Content-Length and chunked)', async () => {
    const body = 'a'.repeat(2048);
    const byLength = await raw(s.url, `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    assert.match(byLength, /^HTTP\/1.1 413/);
    assert.match(byLength, /limit-post/);
    const chunked = await raw(s.url, `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n${body}\r\n0\r\n\r\n`);
    assert.match(chunked, /^HTTP\/1.1 413/);
    // The worker goes on serving.
    assert.equal((await get(`${s.url}/`)).status, 200);
  });

  test('Expect: 100-continue: a body declared over limit-post is refused (413) before the client sends it; one within it is asked for', async () => {
    const refused = await raw(s.url, 'POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2048\r\n\r\n');
    assert.match(refused, /^HTTP\/1.1 413/, 'no 100 Continue first: the client is told not to send the body');
    // Within the limit: the body is sent only once the server has said 100 Continue.
    const u = new URL(s.url);
    const sock = connect({ host: u.hostname, port: Number(u.port) });
    try {
      let out = '';
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => { out += d; });
      sock.write('POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n');
      await until(() => out.length > 0, 5000, 'the interim answer');
      assert.match(out, /^HTTP\/1.1 100 Continue\r\n\r\n$/);
      sock.write('hello');
      await until(() => out.endsWith('hello'), 5000, 'the echo');
      assert.match(out, /\r\n\r\nHTTP\/1.1 200 /);
    } finally {
      sock.destroy();
    }
  });

  test('a request head over buffer-size → 431', async () => {
    const reply = await raw(s.url, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(3000)}\r\n\r\n`);
    assert.match(reply, /^HTTP\/1.1 431/);
    assert.equal((await get(`${s.url}/`)).status, 200);
  });
});

describe('a Node (req, res) app (2 workers)', () => {
  let s: Running;
  before(async () => {
    s = await startSpindle([NODE_APP, ...base, '--processes', '2']);
  });
  after(async () => { await s?.stop(); });

  test('answers 200, and fresh connections reach both workers', async () => {
    const r = await get(`${s.url}/`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-form'], 'node');
    assert.match(r.body.toString(), /^hello from node worker [12]\n$/);
    const seen = await seenWorkers(`${s.url}/`, ['1', '2'], (x) => String(x.headers['x-worker']));
    assert.deepEqual([...seen].sort(), ['1', '2']);
  });

  test('POST body echo, Content-Length and chunked', async () => {
    const bytes = Buffer.alloc(64 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
    const r = await get(`${s.url}/echo`, { method: 'POST', body: bytes });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-length'], String(bytes.length));
    assert.ok(r.body.equals(bytes), 'the body came back intact');
    const reply = await raw(s.url, CHUNKED_ECHO);
    assert.match(reply, /^HTTP\/1.1 200/);
    assert.match(reply, /\r\n\r\nhello world$/);
  });

  test('after a chunked request body (the app runs on the adapter\'s response) the connection is kept alive, unless the app says Connection: close', async () => {
    const chunked = (path: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`;
    const last = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const kept = await raw(s.url, chunked('/echo') + last);
    assert.equal(kept.match(/HTTP\/1\.1 200 /g)?.length, 2, kept);
    assert.match(kept, /\r\n\r\nhello(?=HTTP)/);
    const closed = await raw(s.url, chunked('/echo-then-close') + last);
    assert.equal(closed.match(/HTTP\/1\.1 /g)?.length, 1, closed);
    assert.match(closed, /\r\nconnection: close\r\n/i);
    assert.match(closed, /\r\nx-length: 5\r\n/i);
    assert.ok(closed.endsWith('\r\n\r\nclosing\n'), closed);
  });
});

test('the hello example: fresh connections are answered by both workers', () =>
  withServer(HELLO, ['--processes', '2'], async (s) => {
    const seen = await seenWorkers(`${s.url}/`, ['1', '2'], (x) => {
      const m = /^hello from Spindle worker (\d+)\n$/.exec(x.body.toString());
      assert.ok(m, `unexpected body ${JSON.stringify(x.body.toString())}`);
      return m[1]!;
    });
    assert.deepEqual([...seen].sort(), ['1', '2']);
  }));

test('harakiri, responsive worker: 504 from the worker itself, which is not terminated and keeps serving', () =>
  withServer(APP, ['--processes', '1', '--harakiri', '1'], async (s) => {
    const before = await get(`${s.url}/`);
    assert.equal(before.status, 200);
    const r = await get(`${s.url}/hang`);
    assert.equal(r.status, 504);
    assert.match(r.body.toString(), /harakiri/);
    const line = await s.waitForLog((l) => l.event === 'HARAKIRI', 10000, 'the HARAKIRI line');
    assert.equal(line.path, '/hang');
    assert.ok(Number(line.ms) >= 1000, `not before its deadline (ms ${line.ms})`);
    assert.equal(line.worker, 1);
    // The same thread (same boot token) answers afterwards; nothing exited or was respawned.
    for (let i = 0; i < 5; i++) {
      const after = await get(`${s.url}/`);
      assert.equal(after.status, 200);
      assert.equal(after.headers['x-worker'], '1');
      assert.equal(after.headers['x-boot'], before.headers['x-boot'], 'the same worker thread');
    }
    assert.deepEqual(exitLines(s), [], 'no worker exited, died or was respawned');
    assert.ok(!s.lines.some((l) => (l.event === 'HARAKIRI' && l.lost !== undefined) || l.event === 'HARAKIRI_STACK' || l.event === 'ZOMBIE_THREAD'), 'the worker was not taken for stuck');
  }));

test('harakiri-graceful-timeout: an app that throws on request.signal abort → 504, the worker keeps serving', () =>
  withServer(APP, ['--processes', '1', '--harakiri', '1', '--harakiri-graceful-timeout', '1'], async (s) => {
    const before = await get(`${s.url}/`);
    const r = await get(`${s.url}/abort-throws`);
    assert.equal(r.status, 504);
    await s.waitForLog((l) => l.event === 'HARAKIRI_SETTLED', 10000, 'the settled line');
    const after = await get(`${s.url}/`);
    assert.equal(after.status, 200);
    assert.equal(after.headers['x-boot'], before.headers['x-boot'], 'the same worker thread');
    assert.deepEqual(exitLines(s), []);
    assert.ok(!s.lines.some((l) => l.event === 'APP_ERROR'), 'the abort error is not reported as an app failure');
  }));

test('harakiri, worker stuck in synchronous code: the connection is closed unanswered, the worker is replaced', () =>
  withServer(APP, ['--processes', '1', '--harakiri', '1'], async (s) => {
    const before = await get(`${s.url}/`);
    // The documented trade-off: terminating the thread closes the connection it accepted.
    const stuck = await get(`${s.url}/spin`, { timeoutMs: 20000 }).then(
      (r) => assert.fail(`expected the connection to be closed without an answer, got ${r.status} ${r.body.toString()}`),
      (e: NodeJS.ErrnoException) => e,
    );
    assert.equal(stuck.code, 'ECONNRESET', `closed, not timed out: ${stuck.message}`);
    const line = await s.waitForLog((l) => l.event === 'HARAKIRI' && l.lost !== undefined, 10000, 'the stuck HARAKIRI line');
    assert.equal(line.worker, 1);
    assert.equal(line.lost, 1, 'the unanswered request is counted as lost');
    await s.waitForLog((l) => l.event === 'WORKER_EXITED' && l.reason === 'harakiri' && l.worker === 1, 10000, "'worker exited' (harakiri)");
    await s.waitForLog((l) => l.event === 'WORKER_RESPAWNED' && l.worker === 1, 10000, "'worker respawned'");
    const after = await until(async () => {
      const x = await get(`${s.url}/`).catch(() => null);
      return x?.status === 200 ? x : null;
    }, 10000, 'a 200 from the replacement');
    assert.equal(after.headers['x-worker'], '1');
    assert.notEqual(after.headers['x-boot'], before.headers['x-boot'], 'a new worker thread');
    for (let i = 0; i < 5; i++) assert.equal((await get(`${s.url}/`)).status, 200);
  }));

function load(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections: 16, duration: seconds });
}

test('recycling under load (max-requests 200): no failed requests', () =>
  withServer(APP, ['--processes', '2', '--max-requests', '200'], async (s) => {
    const r = await load(`${s.url}/`, 3);
    const recycles = s.lines.filter((l) => l.event === 'WORKER_RECYCLE').length;
    assert.ok(r.requests.total > 0);
    assert.equal(r.errors, 0, `connection errors while recycling (${r.requests.total} requests)`);
    assert.equal(r.timeouts, 0);
    assert.equal(r.non2xx, 0, 'non-2xx answers while recycling');
    assert.ok(recycles >= 2, `workers recycled ${recycles} times`);
    assert.ok(s.lines.some((l) => l.event === 'WORKER_RECYCLE' && l.reason === 'max-requests'));
    console.log(`# accept=workers recycling: ${r.requests.total} requests, ${recycles} recycles`);
  }));

test('chain reload under load (3 × SIGHUP): no failed requests', () =>
  withServer(APP, ['--processes', '2'], async (s) => {
    const running = load(`${s.url}/`, 4);
    const reloads = (async () => {
      for (let i = 1; i <= 3; i++) {
        s.proc.kill('SIGHUP');
        await until(() => s.lines.filter((l) => l.event === 'RELOAD_DONE').length >= i, 15000, `reload ${i}`);
      }
    })();
    const [r] = await Promise.all([running, reloads]);
    assert.equal(s.lines.filter((l) => l.event === 'RELOAD_DONE').length, 3);
    assert.ok(r.requests.total > 0);
    assert.equal(r.errors, 0, `connection errors while reloading (${r.requests.total} requests)`);
    assert.equal(r.timeouts, 0);
    assert.equal(r.non2xx, 0, 'non-2xx answers while reloading');
    console.log(`# accept=workers reloading: ${r.requests.total} requests, 3 reloads`);
  }));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port }, () => srv.close(() => resolve(true)));
  });
}

test('SIGTERM with a request in flight: it completes 200, exit code 0, the port is free', async () => {
  const s = await startSpindle([APP, ...base, '--processes', '2']);
  try {
    const port = Number(new URL(s.url).port);
    const slow = get(`${s.url}/slow?ms=500&announce=1`);
    await s.waitForLog((l) => l.msg === 'app: slow request started', 10000, 'the slow request');
    s.proc.kill('SIGTERM');
    const r = await slow;
    assert.equal(r.status, 200);
    assert.match(r.body.toString(), /^slept on worker [12]\n$/);
    const { code, signal } = await s.exited;
    assert.equal(signal, null);
    assert.equal(code, 0, s.stderr());
    assert.ok(s.lines.some((l) => l.event === 'STOPPED'));
    assert.ok(await portFree(port), `port ${port} is free after the exit`);
    // And nothing accepts on it any more.
    const refused = await new Promise<string>((resolve) => {
      const c = connect({ host: '127.0.0.1', port });
      c.once('connect', () => { c.destroy(); resolve('connected'); });
      c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    assert.equal(refused, 'ECONNREFUSED');
  } finally {
    await s.stop('SIGKILL');
  }
});


test('stats: the requests the workers served themselves are counted', () =>
  withServer(APP, ['--processes', '2', '--stats', '127.0.0.1:0'], async (s) => {
    const statsAddr = s.lines.find((l: LogLine) => l.event === 'SERVING')!.stats as string;
    assert.match(statsAddr, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    const N = 40;
    for (let i = 0; i < N / 4; i++) {
      const rs = await Promise.all(Array.from({ length: 4 }, () => get(`${s.url}/`, { headers: { connection: 'close' } })));
      for (const r of rs) assert.equal(r.status, 200);
    }
    assert.equal((await get(`${s.url}/nope`)).status, 404);
    // Workers report in batches (every 100 ms): poll.
    const sum = (d: Record<string, any>) => (d.workers as { requests: number }[]).reduce((a, w) => a + w.requests, 0); // eslint-disable-line @typescript-eslint/no-explicit-any
    const doc = await until(async () => {
      const d = JSON.parse(await rawStats(statsAddr)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      return sum(d) >= N + 1 ? d : null;
    }, 10000, `the stats to count ${N + 1} requests`);
    assert.equal(sum(doc), N + 1, 'every request counted once');
    assert.equal(doc.workers.length, 2);
    assert.equal(doc.requests, N + 1);
    assert.equal(doc.requests_by_status['2xx'], N);
    assert.equal(doc.requests_by_status['4xx'], 1);
  }));

describe('refused configurations', () => {
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  test('cheaper is valid with every algorithm', () => {
    for (const algo of ['busyness', 'spare', 'backlog', 'manual']) {
      const r = cli(['check', HELLO, '--cheaper', '1', '--processes', '2', '--cheaper-algo', algo]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^cheaper +1 +flag --cheaper$/m);
      assert.doesNotMatch(r.out + r.err, /CONFIG_CONFLICT/);
    }
  });


  test('accept (the removed master-front mode) is an unknown option', () => {
    const r = cli(['check', HELLO, '--accept', 'master']);
    assert.equal(r.code, 1, r.out);
    assert.match(r.err, /CONFIG_UNKNOWN_OPTION/);
  });


  test('concurrency is a cap, accepted without a warning', () => {
    const r = cli(['check', HELLO, '--concurrency', '4']);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out + r.err, /warning/);
  });
});

test('concurrency: no cap by default (awaited I/O never queues); with --concurrency N the N+1th request waits for one to finish', async () => {
  const MS = 800;
  await withServer(APP, ['--processes', '1'], async (s) => {
    const announced = () => s.lines.filter((l) => l.msg === 'app: slow request started').length;
    const first = Promise.all(Array.from({ length: 3 }, () => get(`${s.url}/slow?ms=${MS}&announce=1`)));
    await until(() => announced() === 3, MS / 2, 'all three requests running at once');
    for (const r of await first) assert.equal(r.status, 200);
  });
  await withServer(APP, ['--processes', '1', '--concurrency', '2'], async (s) => {
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 3 }, () => get(`${s.url}/slow?ms=${MS}&announce=1`).then((r) => ({ r, ms: Date.now() - started }))));
    for (const { r } of replies) assert.equal(r.status, 200);
    // A lower bound only (a slow machine makes it longer, never shorter): the third ran after a first one ended.
    const last = Math.max(...replies.map((x) => x.ms));
    assert.ok(last >= 2 * MS, `the third request waited for a free place (${last} ms for three ${MS} ms requests)`);
  });
});

test('fair sharing: kept-alive connections that all landed on one worker are spread over both', () =>
  withServer(APP, ['--processes', '2', '--stats', '127.0.0.1:0'], async (s) => {
    const statsAddr = s.lines.find((l: LogLine) => l.event === 'SERVING')!.stats as string;
    // One worker is kept busy in synchronous code, so the other accepts every connection of the burst.
    const busy = get(`${s.url}/busy?ms=1500`);
    await until(async () => {
      const d = JSON.parse(await rawStats(statsAddr)) as { workers: { in_flight: number }[] };
      return d.workers.some((w) => w.in_flight === 1);
    }, 5000, 'one worker busy');
    const N = 48;
    const load = autocannon({ url: `${s.url}/slow?ms=5`, connections: N, duration: 4 });
    try {
      const spread = await until(async () => {
        const d = JSON.parse(await rawStats(statsAddr)) as { workers: { connections: number }[] };
        const c = d.workers.map((w) => w.connections);
        return c.length === 2 && c.every((n) => n >= N / 4) ? c : null;
      }, 4000, 'the connections spread over both workers');
      assert.equal(spread.length, 2);
    } finally {
      const r = await load;
      assert.equal(r.errors, 0, 'closing a kept-alive connection after its response fails no request');
      assert.equal(r.non2xx, 0);
      assert.equal((await busy).status, 200);
    }
  }));

test('a Node (req, res) app gets req.signal: harakiri\'s graceful stage fires it, the app settles, the worker keeps serving', () =>
  withServer(NODE_APP, ['--processes', '1', '--harakiri', '1', '--harakiri-graceful-timeout', '5'], async (s) => {
    const r = await get(`${s.url}/abortable`);
    assert.equal(r.status, 503, 'the app answered after its signal fired');
    assert.match(r.body.toString(), /gave up cleanly: REQUEST_ABORTED: /, "the signal's reason carries its code");
    await s.waitForLog((l) => l.event === 'HARAKIRI_GRACEFUL');
    assert.ok(!s.lines.some((l) => l.event === 'WORKER_EXITED'), 'the worker was not terminated');
    assert.equal((await get(`${s.url}/`)).status, 200);
  }));

test('a Node (req, res) app: each logged request counts the bytes of its own response, pipelined on one connection', () =>
  withServer(NODE_APP, ['--processes', '1', '--disable-logging=false'], async (s) => {
    const sizes = [5, 3000, 0, 70000];
    const requests = sizes.map((n, i) =>
      `POST /echo?i=${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${n}\r\n${i === sizes.length - 1 ? 'Connection: close\r\n' : ''}\r\n${'a'.repeat(n)}`);
    const out = await raw(s.url, requests.join(''), 10000);
    // What the client received of each response, head and body.
    const starts = [...out.matchAll(/HTTP\/1\.1 \d{3} /g)].map((m) => m.index);
    assert.equal(starts.length, sizes.length, out.slice(0, 300));
    const received = starts.map((at, i) => Buffer.byteLength(out.slice(at, starts[i + 1] ?? out.length)));
    const lines = await until(() => {
      const l = s.lines.filter((x) => x.event === 'REQUEST');
      return l.length === sizes.length ? l : null;
    }, 5000, 'a REQUEST line per request');
    assert.deepEqual(sizes.map((_, i) => lines.find((l) => l.path === `/echo?i=${i}`)?.bytes), received);
  }));

test('a response cut because the app failed after its head: the request line still names the client', () =>
  withServer(NODE_APP, ['--processes', '1'], async (s) => {
    // A fresh connection, cut on its first request: nothing had read the peer's address before.
    const reply = await raw(s.url, 'GET /fail-after-head HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.doesNotMatch(reply, /^HTTP\/1\.1 500/, 'the head had gone out: the response is cut, not replaced');
    const line = await s.waitForLog((l) => l.event === 'REQUEST' && l.path === '/fail-after-head', 5000, 'the request line');
    assert.equal(line.status, 500);
    assert.equal(line.client, '127.0.0.1');
  }));

test('a Node (req, res) app that writes after its harakiri answer: the write is dropped, the worker keeps serving', () =>
  withServer(NODE_APP, ['--processes', '1', '--harakiri', '1'], async (s) => {
    const r = await get(`${s.url}/late-write`);
    assert.equal(r.status, 504);
    await s.waitForLog((l) => l.msg === 'app: wrote after the answer');
    assert.equal((await get(`${s.url}/`)).status, 200, 'the same worker still serves');
    assert.deepEqual(exitLines(s), [], 'the late write killed no worker');
  }));

test('setHarakiri() after awaits lowers the limit of the request it is called for; from a timer callback, on Node 20 and 22, it throws NOT_IN_SPINDLE', () =>
  withServer(NODE_APP, ['--processes', '1', '--harakiri', '60'], async (s) => {
    const started = Date.now();
    const [late, other] = await Promise.all([get(`${s.url}/limit`), get(`${s.url}/cpu?ms=1`)]);
    assert.equal(late.status, 504, 'the lowered limit ended it');
    assert.ok(Date.now() - started < 4500, 'at the lowered limit, not when the handler ended');
    assert.equal(other.status, 200, 'a request running beside it is not affected');
    const timer = await get(`${s.url}/limit?from=timer`);
    if ('kResourceStore' in new AsyncLocalStorage()) {
      // async_hooks-based AsyncLocalStorage: Spindle follows requests through promises only (request-scope.ts)
      assert.equal(timer.status, 500);
      assert.equal(timer.body.toString(), 'NOT_IN_SPINDLE\n');
    } else {
      assert.equal(timer.status, 504, 'with async context frames the request is followed into timers too');
    }
  }));

test('concurrency cap, attacked: pipelined requests are all answered in order; a client that leaves while queued is skipped', () =>
  withServer(APP, ['--processes', '1', '--concurrency', '1'], async (s) => {
    const pipelined = await raw(s.url, 'GET /slow?ms=200 HTTP/1.1\r\nHost: x\r\n\r\nGET /slow?ms=200 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal((pipelined.match(/HTTP\/1\.1 200/g) ?? []).length, 3, pipelined);
    const long = get(`${s.url}/slow?ms=1000&announce=1`);
    await s.waitForLog((l) => l.msg === 'app: slow request started');
    // queued behind the cap, then gone before its turn
    const leaver = connect({ host: new URL(s.url).hostname, port: Number(new URL(s.url).port) });
    await new Promise<void>((resolve) => leaver.once('connect', () => resolve()));
    leaver.write('GET /slow?ms=100&announce=1 HTTP/1.1\r\nHost: x\r\n\r\n');
    leaver.destroy();
    assert.equal((await long).status, 200);
    assert.equal((await get(`${s.url}/`)).status, 200, 'the worker still serves');
    assert.equal(s.lines.filter((l) => l.msg === 'app: slow request started').length, 1, 'the queued request of the client that left never ran');
  }));
