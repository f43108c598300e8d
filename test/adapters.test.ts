// The worker-side app adapters, called directly (no worker threads, no sockets): loadApp() on a
// fixture module, then its handler with a collecting sink. One test at the end runs an Express
// app and a fetch app inside a real worker_thread.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadApp, AppLoadError } from '../src/worker/load-app.js';
import type { LoadedApp, RequestData, ResponseHeaders, ResponseSink } from '../src/worker/app-types.js';
import { SpindleError } from '../src/errors.js';
import { cleanHeaders } from '../src/front/exchange.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const APPS = `${ROOT}test/fixtures/apps/`;
const app = (name: string) => `${APPS}${name}`;

interface Event { t: number; kind: 'head' | 'chunk' | 'end'; status?: number; headers?: ResponseHeaders; data?: Buffer }
interface Result {
  status?: number;
  headers: ResponseHeaders;
  body: Buffer;
  chunks: Buffer[];
  events: Event[];
  ended: boolean;
  error?: unknown;
}

function reqData(method: string, url: string, opts: { headers?: [string, string][]; body?: Uint8Array | null } = {}): RequestData {
  return {
    id: 7, method, url, httpVersion: '1.1',
    headers: [['host', 'example.test:8000'], ['user-agent', 'adapters-test'], ...(opts.headers ?? [])],
    remoteAddress: '203.0.113.9', remotePort: 54321, localAddress: '127.0.0.1', localPort: 8000,
    scheme: 'http', body: opts.body ?? null,
  };
}

function collector(): { sink: ResponseSink; result: Result } {
  const result: Result = { headers: [], body: Buffer.alloc(0), chunks: [], events: [], ended: false };
  const t0 = performance.now();
  const sink: ResponseSink = {
    head(status, headers) {
      result.events.push({ t: performance.now() - t0, kind: 'head', status, headers });
      result.status = status;
      result.headers = headers;
    },
    chunk(data) {
      const copy = Buffer.from(data); // the sink must copy (the bytes may be pooled)
      result.events.push({ t: performance.now() - t0, kind: 'chunk', data: copy });
      result.chunks.push(copy);
    },
    end() {
      result.events.push({ t: performance.now() - t0, kind: 'end' });
      result.ended = true;
      result.body = Buffer.concat(result.chunks);
    },
  };
  return { sink, result };
}

async function call(a: LoadedApp, rd: RequestData, signal: AbortSignal = new AbortController().signal): Promise<Result> {
  const { sink, result } = collector();
  try {
    await a.handler(rd, sink, { signal, workerId: 3 });
  } catch (err) {
    result.error = err;
  }
  return result;
}

function header(r: Result, name: string): string | undefined {
  return r.headers.find(([k]) => k.toLowerCase() === name)?.[1];
}
function headerAll(r: Result, name: string): string[] {
  return r.headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Checks the event order (head, chunks…, end) and that the sink saw no call after end. */
function assertWellFormed(r: Result): void {
  assert.equal(r.events[0]?.kind, 'head', 'head comes first');
  assert.equal(r.events.filter((e) => e.kind === 'head').length, 1, 'exactly one head');
  const endAt = r.events.findIndex((e) => e.kind === 'end');
  if (endAt >= 0) assert.equal(endAt, r.events.length - 1, 'nothing after end');
}

const loaded = new Map<string, LoadedApp>();
async function get(name: string): Promise<LoadedApp> {
  let a = loaded.get(name);
  if (!a) {
    a = await loadApp(app(name));
    loaded.set(name, a);
  }
  return a;
}

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
function bigBody(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

describe('detection and hello world for every form', () => {
  const cases: [file: string, kind: LoadedApp['kind'], body: string, form?: string][] = [
    ['fetch-object.mjs', 'fetch', 'hello fetch', 'fetch-object'],
    ['fetch-named.mjs', 'fetch', 'named GET /hello', 'named-fetch'],
    ['fetch-default-fn.mjs', 'fetch', 'default-fn /hello'],
    ['fetch-arrow.mjs', 'fetch', 'arrow GET'],
    ['hono.mjs', 'fetch', 'hello hono', 'hono'],
    ['express.mjs', 'node', 'hello express', 'express'],
    ['koa.mjs', 'koa', 'hello koa', 'koa'],
    ['koa-callback.cjs', 'node', 'hello koa callback', 'koa-callback'],
    ['fastify.mjs', 'fastify', 'hello fastify', 'fastify'],
    ['plain.mjs', 'node', 'hello plain', 'plain'],
  ];
  for (const [file, kind, body, form] of cases) {
    test(file, async () => {
      const a = await get(file);
      assert.equal(a.kind, kind, a.description);
      const r = await call(a, reqData('GET', '/hello'));
      assert.equal(r.error, undefined);
      assertWellFormed(r);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), body);
      assert.ok(r.ended);
      if (form) assert.equal(header(r, 'x-form'), form);
      assert.equal(header(r, 'content-length'), String(Buffer.byteLength(body)));
      // what the front sends of the app's head: no framing of its own (Node's adds Connection: keep-alive)
      const sent = cleanHeaders(r.headers.flat(), false);
      for (const hop of ['transfer-encoding', 'connection', 'keep-alive', 'content-length']) {
        assert.equal(sent.findIndex((v, i) => i % 2 === 0 && v.toLowerCase() === hop), -1, hop);
      }
    });
  }

  test('a relative path resolves against the cwd', async () => {
    const a = await loadApp(relative(process.cwd(), app('fetch-named.mjs')));
    assert.equal(a.kind, 'fetch');
    assert.equal(a.path, app('fetch-named.mjs'));
  });
});

describe('responses', () => {
  test('multiple Set-Cookie headers are kept apart', async () => {
    for (const file of ['fetch-object.mjs', 'express.mjs', 'plain.mjs', 'fastify.mjs']) {
      const r = await call(await get(file), reqData('GET', '/cookies'));
      assert.equal(r.error, undefined, file);
      const cookies = headerAll(r, 'set-cookie');
      assert.ok(cookies.length >= 2, `${file}: ${JSON.stringify(r.headers)}`);
      assert.ok(cookies[0]!.startsWith('a=1'), file);
      assert.ok(cookies[1]!.startsWith('b=2'), file);
      if (file === 'fetch-object.mjs') {
        assert.equal(r.status, 201);
        assert.equal(cookies[1], 'b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT');
      }
    }
  });

  test('a streamed body arrives as separate chunks, in order, over time, before end', async () => {
    for (const file of ['fetch-object.mjs', 'hono.mjs', 'express.mjs', 'plain.mjs', 'koa.mjs', 'fastify.mjs']) {
      const r = await call(await get(file), reqData('GET', '/sse'));
      assert.equal(r.error, undefined, file);
      assertWellFormed(r);
      assert.match(header(r, 'content-type') ?? '', /^text\/event-stream/, file);
      const chunks = r.events.filter((e) => e.kind === 'chunk');
      assert.deepEqual(chunks.map((c) => c.data!.toString()), ['data: 0\n\n', 'data: 1\n\n', 'data: 2\n\n'], file);
      // three ~20 ms steps: the first chunk was delivered well before the last one was produced
      assert.ok(chunks[2]!.t - chunks[0]!.t >= 25, `${file}: chunks at ${chunks.map((c) => c.t.toFixed(1)).join(', ')} ms`);
      assert.ok(r.events.at(-1)!.kind === 'end', file);
    }
  });

  test('no body chunks for 204 and HEAD', async () => {
    const r204 = await call(await get('fetch-object.mjs'), reqData('GET', '/empty'));
    assert.equal(r204.status, 204);
    assert.equal(header(r204, 'x-empty'), '1');
    assert.equal(r204.chunks.length, 0);
    assert.ok(r204.ended);
    for (const file of ['fetch-object.mjs', 'hono.mjs', 'plain.mjs', 'express.mjs', 'koa.mjs', 'fastify.mjs']) {
      const r = await call(await get(file), reqData('HEAD', '/hello'));
      assert.equal(r.error, undefined, file);
      assert.equal(r.status, 200, file);
      assert.equal(r.chunks.length, 0, file);
      assert.ok(r.ended, file);
    }
  });

  test('Express redirect and 404 come back as the app sends them', async () => {
    const r = await call(await get('express.mjs'), reqData('GET', '/redirect'));
    assert.equal(r.status, 302);
    assert.equal(header(r, 'location'), '/hello');
    const nf = await call(await get('express.mjs'), reqData('GET', '/nope'));
    assert.equal(nf.status, 404);
    assert.ok(nf.ended);
  });

  test('the guard: end twice and write after end reach the sink once', async () => {
    const r = await call(await get('plain.mjs'), reqData('GET', '/twice'));
    assert.equal(r.error, undefined);
    assertWellFormed(r);
    assert.equal(r.body.toString(), 'first');
    assert.equal(r.events.filter((e) => e.kind === 'end').length, 1);
  });
});

describe('request bodies and request data', () => {
  test('binary body with all 256 byte values round-trips', async () => {
    const h: [string, string][] = [['content-type', 'application/octet-stream'], ['content-length', '256']];
    for (const file of ['fetch-object.mjs', 'plain.mjs', 'express.mjs', 'koa.mjs']) {
      const r = await call(await get(file), reqData('POST', '/echo', { headers: h, body: ALL_BYTES }));
      assert.equal(r.error, undefined, file);
      assert.equal(r.status, 200, file);
      assert.deepEqual(new Uint8Array(r.body), ALL_BYTES, file);
    }
  });

  test('a 4 MiB body arrives intact', async () => {
    const body = bigBody(4 * 1024 * 1024);
    const h: [string, string][] = [['content-type', 'application/octet-stream'], ['content-length', String(body.length)]];
    for (const file of ['fetch-object.mjs', 'plain.mjs', 'express.mjs']) {
      const r = await call(await get(file), reqData('POST', '/echo', { headers: h, body }));
      assert.equal(r.error, undefined, file);
      assert.equal(r.body.length, body.length, file);
      assert.ok(Buffer.compare(r.body, body) === 0, file);
    }
  });

  test('a JSON POST is parsed by express.json(), Hono and Fastify', async () => {
    const payload = { name: 'Zoë', n: [1, 2, 3], nested: { ok: true } };
    const json = new TextEncoder().encode(JSON.stringify(payload));
    const h: [string, string][] = [['content-type', 'application/json'], ['content-length', String(json.length)]];
    const ex = await call(await get('express.mjs'), reqData('POST', '/json', { headers: h, body: json }));
    assert.equal(ex.status, 201);
    assert.deepEqual(JSON.parse(ex.body.toString()), { got: payload });
    for (const file of ['hono.mjs', 'fastify.mjs']) {
      const r = await call(await get(file), reqData('POST', '/json', { headers: h, body: json }));
      assert.equal(r.status, 200, file);
      assert.deepEqual(JSON.parse(r.body.toString()), { got: payload }, file);
    }
  });

  test('the client address reaches every form', async () => {
    const plain = JSON.parse((await call(await get('plain.mjs'), reqData('GET', '/info'))).body.toString());
    assert.equal(plain.remoteAddress, '203.0.113.9');
    assert.equal(plain.remotePort, 54321);
    assert.equal(plain.localPort, 8000);
    assert.equal(plain.encrypted, false);
    assert.equal(plain.timeoutOk, true, 'req.socket.setTimeout() is callable');
    const ex = JSON.parse((await call(await get('express.mjs'), reqData('GET', '/info?x=1'))).body.toString());
    assert.equal(ex.ip, '203.0.113.9');
    assert.equal(ex.remotePort, 54321);
    assert.equal(ex.protocol, 'http');
    assert.equal(ex.host, 'example.test:8000');
    assert.deepEqual(ex.query, { x: '1' });
    assert.equal(ex.url, '/info?x=1');
    const koa = JSON.parse((await call(await get('koa.mjs'), reqData('GET', '/info'))).body.toString());
    assert.equal(koa.ip, '203.0.113.9');
    const fy = JSON.parse((await call(await get('fastify.mjs'), reqData('GET', '/info'))).body.toString());
    assert.equal(fy.ip, '203.0.113.9');
    assert.equal(fy.remoteAddress, '203.0.113.9');
    const fe = JSON.parse((await call(await get('fetch-object.mjs'), reqData('GET', '/info?q=2'))).body.toString());
    assert.equal(fe.remoteAddress, '203.0.113.9');
    assert.equal(fe.remotePort, 54321);
    assert.equal(fe.workerId, 3);
    assert.equal(fe.url, 'http://example.test:8000/info?q=2');
    assert.equal(fe.hasSignal, true);
    const hono = JSON.parse((await call(await get('hono.mjs'), reqData('GET', '/env'))).body.toString());
    assert.deepEqual(hono, { remoteAddress: '203.0.113.9', hasWaitUntil: true });
  });

  test('repeated request headers are combined the way node:http does', async () => {
    const h: [string, string][] = [['x-multi', 'a'], ['X-Multi', 'b'], ['cookie', 'k=1'], ['cookie', 'l=2']];
    const plain = JSON.parse((await call(await get('plain.mjs'), reqData('GET', '/info', { headers: h }))).body.toString());
    assert.equal(plain.headers['x-multi'], 'a, b');
    assert.equal(plain.headers.cookie, 'k=1; l=2');
    assert.equal(plain.headers.host, 'example.test:8000');
    assert.deepEqual(plain.rawHeaders.slice(4), ['x-multi', 'a', 'X-Multi', 'b', 'cookie', 'k=1', 'cookie', 'l=2']);
    const fe = JSON.parse((await call(await get('fetch-object.mjs'), reqData('GET', '/info', { headers: h }))).body.toString());
    assert.equal(fe.h, 'a, b');
  });
});

describe('failures', () => {
  test('an exception before head rejects without touching the sink', async () => {
    for (const [file, msg] of [['fetch-object.mjs', /boom before head/], ['plain.mjs', /plain boom/]] as const) {
      const r = await call(await get(file), reqData('GET', '/throw'));
      assert.match(String((r.error as Error)?.message), msg, file);
      assert.equal(r.events.length, 0, file);
    }
    const bad = await call(await get('fetch-object.mjs'), reqData('GET', '/not-a-response'));
    assert.match(String((bad.error as Error)?.message), /returned a string .*must return a Response/);
    assert.equal(bad.events.length, 0);
  });

  test('Express and Koa turn a route exception into their own 500', async () => {
    for (const file of ['express.mjs', 'koa.mjs']) {
      const r = await call(await get(file), reqData('GET', '/throw'));
      assert.equal(r.error, undefined, file);
      assert.equal(r.status, 500, file);
      assert.ok(r.ended, file);
    }
  });

  test('an exception after head rejects, and nothing more reaches the sink', async () => {
    // A fetch body that fails within its first tick fails before the head goes out (the caller
    // can still answer a clean 500); nothing reaches the sink.
    const fe = await call(await get('fetch-object.mjs'), reqData('GET', '/stream-error'));
    assert.match(String((fe.error as Error)?.message), /boom after head/);
    assert.equal(fe.status, undefined);
    assert.equal(fe.ended, false);
    assert.deepEqual(fe.chunks, []);

    const pl = await call(await get('plain.mjs'), reqData('GET', '/throw-after-head'));
    assert.match(String((pl.error as Error)?.message), /plain boom after head/);
    assert.equal(pl.status, 200);
    assert.equal(pl.ended, false);

    const ds = await call(await get('plain.mjs'), reqData('GET', '/destroy'));
    assert.ok(ds.error instanceof Error);
    assert.equal(ds.ended, false);
    assert.deepEqual(ds.chunks.map(String), ['partial']);
  });

  test('abort reaches a fetch app as request.signal', async () => {
    const a = await get('fetch-object.mjs');
    const mod = (await import(app('fetch-object.mjs'))) as { seen: { aborted: boolean } };
    const ac = new AbortController();
    const { sink, result } = collector();
    const p = Promise.resolve(a.handler(reqData('GET', '/slow'), sink, { signal: ac.signal, workerId: 1 }));
    setImmediate(() => ac.abort());
    await assert.rejects(p, (err: Error) => err.name === 'AbortError');
    await until(() => mod.seen.aborted, 'request.signal to abort in the app');
    // the app's late Response is dropped
    await new Promise((r) => setImmediate(r));
    assert.equal(result.events.length, 0);
  });

  test('abort cancels a streamed fetch body', async () => {
    const a = await get('fetch-object.mjs');
    const ac = new AbortController();
    const { sink, result } = collector();
    const p = Promise.resolve(a.handler(reqData('GET', '/sse'), sink, { signal: ac.signal, workerId: 1 }));
    await until(() => result.chunks.length >= 1, 'the first chunk');
    ac.abort();
    await assert.rejects(p);
    const n = result.chunks.length;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(result.chunks.length, n, 'no chunk after the abort');
    assert.equal(result.ended, false);
  });

  test('abort reaches Node apps as req "aborted" and res "close"', async () => {
    for (const file of ['plain.mjs', 'express.mjs']) {
      const a = await get(file);
      const mod = (await import(app(file))) as { seen: { aborted: boolean; closed: boolean } };
      const ac = new AbortController();
      const p = Promise.resolve(a.handler(reqData('GET', '/slow'), collector().sink, { signal: ac.signal, workerId: 1 }));
      setImmediate(() => ac.abort());
      await assert.rejects(p);
      await until(() => mod.seen.aborted && mod.seen.closed, `${file}: req aborted and res close`);
    }
  });

  test('an already aborted signal rejects without running the app', async () => {
    const ac = new AbortController();
    ac.abort();
    for (const file of ['plain.mjs', 'fetch-object.mjs']) {
      const r = await call(await get(file), reqData('GET', '/hello'), ac.signal);
      assert.ok(r.error, file);
      assert.equal(r.events.length, 0, file);
    }
  });

  test('waitUntil work is awaited by close()', async () => {
    const a = await loadApp(app('fetch-object.mjs'));
    const mod = (await import(app('fetch-object.mjs'))) as { seen: { waited: number } };
    const before = mod.seen.waited;
    const r = await call(a, reqData('GET', '/wait-until'));
    assert.equal(r.body.toString(), 'queued');
    await a.close!();
    assert.equal(mod.seen.waited, before + 1);
  });
});

describe('load errors', () => {
  const cases: [file: string, reason: AppLoadError['reason'], text: RegExp][] = [
    ['does-not-exist.mjs', 'not-found', /no such file/],
    ['broken-syntax.mjs', 'syntax', /syntax error[\s\S]*SyntaxError/],
    ['broken-syntax.cjs', 'syntax', /syntax error[\s\S]*SyntaxError/],
    ['broken-throws.mjs', 'threw', /threw while being imported[\s\S]*the app refuses to start[\s\S]*broken-throws\.mjs:1/],
    ['broken-json.mjs', 'threw', /threw while being imported[\s\S]*JSON/],
    ['broken-link.mjs', 'syntax', /syntax error[\s\S]*does not provide an export named 'nope'/],
    ['broken-missing-dep.mjs', 'not-found', /imports was not found[\s\S]*spindle-no-such-package/],
    ['broken-no-export.mjs', 'no-export', /no usable export[\s\S]*default export: an object with keys \[name\][\s\S]*export port: a number \(3000\)[\s\S]*Accepted forms/],
  ];
  for (const [file, reason, text] of cases) {
    test(`${file} → ${reason}`, async () => {
      const err = await loadApp(app(file)).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof AppLoadError, String(err));
      assert.ok(err instanceof SpindleError);
      assert.equal(err.code, 'APP_LOAD');
      assert.equal(err.reason, reason);
      assert.ok(err.message.includes(app(file)), 'the message names the path');
      assert.match(err.message, text);
      if (reason !== 'no-export') assert.ok(err.cause !== undefined);
    });
  }
  test('a directory is not-found', async () => {
    const err = await loadApp(APPS).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof AppLoadError);
    assert.equal(err.reason, 'not-found');
  });
});

test('Express and fetch apps run inside a real worker_thread', async () => {
  const loader = new URL('../src/worker/load-app.js', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { loadApp } = await import(workerData.loader);
      const out = [];
      for (const file of workerData.files) {
        const a = await loadApp(file);
        const r = { kind: a.kind, chunks: [] };
        const body = new TextEncoder().encode(JSON.stringify({ hi: 'there' }));
        await a.handler({ id: 1, method: 'POST', url: '/json', httpVersion: '1.1',
          headers: [['host', 'w.test'], ['content-type', 'application/json'], ['content-length', String(body.length)]],
          remoteAddress: '198.51.100.7', remotePort: 1234, localAddress: '127.0.0.1', localPort: 80, scheme: 'http', body },
          { head(s, h) { r.status = s; }, chunk(d) { r.chunks.push(Buffer.from(d).toString()); }, end() { r.ended = true; } },
          { signal: new AbortController().signal, workerId: 9 });
        const sse = { chunks: [] };
        await a.handler({ id: 2, method: 'GET', url: '/sse', httpVersion: '1.1', headers: [['host', 'w.test']],
          remoteAddress: '198.51.100.7', remotePort: 1234, localAddress: '127.0.0.1', localPort: 80, scheme: 'http', body: null },
          { head() {}, chunk(d) { sse.chunks.push(Buffer.from(d).toString()); }, end() {} },
          { signal: new AbortController().signal, workerId: 9 });
        r.sse = sse.chunks;
        out.push(r);
      }
      parentPort.postMessage(out);
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
  `;
  const w = new Worker(code, { eval: true, workerData: { loader, files: [app('express.mjs'), app('hono.mjs')] } });
  try {
    const msg = await new Promise<unknown>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    assert.ok(Array.isArray(msg), JSON.stringify(msg));
    const [ex, hono] = msg as { kind: string; status: number; chunks: string[]; ended: boolean; sse: string[] }[];
    assert.equal(ex!.kind, 'node');
    assert.equal(ex!.status, 201);
    assert.deepEqual(JSON.parse(ex!.chunks.join('')), { got: { hi: 'there' } });
    assert.equal(ex!.sse.length, 3);
    assert.equal(hono!.kind, 'fetch');
    assert.equal(hono!.status, 200);
    assert.deepEqual(JSON.parse(hono!.chunks.join('')), { got: { hi: 'there' } });
    assert.deepEqual(hono!.sse, ['data: 0\n\n', 'data: 1\n\n', 'data: 2\n\n']);
  } finally {
    await w.terminate();
  }
});

test('close() releases a Fastify app', async () => {
  const a = await loadApp(app('fastify.mjs'));
  await a.close!();
  loaded.delete('fastify.mjs');
});
