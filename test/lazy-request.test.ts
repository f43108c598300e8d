// The fetch adapter's LazyRequest must be indistinguishable from the undici Request it stands
// for, and RequestAbort (the lazy abort state the worker entry passes as ctx) must behave like a
// per-request AbortController: these compare both against the real thing.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { buildRequest, makeFetchHandler, makeRequest, BackgroundTasks } from '../src/worker/adapters/fetch.js';
import { LazyRequest, lazyRequestSupported } from '../src/worker/adapters/lazy-request.js';
import { RequestAbort } from '../src/worker/request-abort.js';
import { loadApp } from '../src/worker/load-app.js';
import type { RequestData, ResponseHeaders, ResponseSink } from '../src/worker/app-types.js';

function rd(method: string, url: string, headers: [string, string][] = [], body: Uint8Array | null = null): RequestData {
  return {
    id: 1, method, url, httpVersion: '1.1', headers: [['Host', 'Example.TEST:80'], ...headers],
    remoteAddress: '203.0.113.9', remotePort: 5, localAddress: '127.0.0.1', localPort: 8000, scheme: 'http', body,
  };
}

const json = new TextEncoder().encode('{"a":[1,2]}');
const ctx = () => new RequestAbort(1);

function collect(): { sink: ResponseSink; out: { status?: number; headers?: ResponseHeaders; body: string; ended: boolean } } {
  const out = { status: undefined as number | undefined, headers: undefined as ResponseHeaders | undefined, body: '', ended: false };
  return {
    out,
    sink: {
      head(status, headers) { out.status = status; out.headers = headers; },
      chunk(data) { out.body += Buffer.from(data).toString(); },
      end() { out.ended = true; },
    },
  };
}

describe('LazyRequest', () => {
  test('is used on every supported Node (Node 20: forwarded symbol state; newer: unwrapping Request and fetch)', () => {
    assert.equal(lazyRequestSupported(), true);
    const r = makeRequest(rd('GET', '/'), ctx());
    assert.ok(r instanceof LazyRequest);
    // whatever the global Request is now, every Request is an instance of it
    const native = new Request('http://example.test/');
    assert.ok(native instanceof Request);
    assert.ok(native.clone() instanceof Request);
    assert.ok(r instanceof Request);
  });

  test('fetch(lazy) sends the request it stands for (method, headers, body)', async () => {
    const seen: { method?: string; probe?: string; body: string } = { body: '' };
    const server = createServer((req, res) => {
      seen.method = req.method;
      seen.probe = req.headers['x-probe'] as string;
      req.on('data', (d: Buffer) => { seen.body += d.toString(); });
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const data = { ...rd('POST', '/f', [['x-probe', 'p1']], json), headers: [['host', `127.0.0.1:${port}`], ['x-probe', 'p1']] as [string, string][] };
      const lazy = makeRequest(data, ctx());
      assert.ok(lazy instanceof LazyRequest);
      const r = await fetch(lazy);
      assert.equal(await r.text(), 'ok');
      assert.deepEqual(seen, { method: 'POST', probe: 'p1', body: '{"a":[1,2]}' });
    } finally {
      server.close();
    }
  });

  test('method, url and headers match the real Request; instanceof Request holds', () => {
    for (const [m, u] of [['GET', '/a/../b?x=1%20&y=é'], ['POST', '/p'], ['DELETE', '/'], ['OPTIONS', '/o#frag']] as const) {
      const data = rd(m, u, [['Content-Type', 'application/json'], ['X-Dup', 'a'], ['x-dup', 'b'], ['cookie', 'a=1']]);
      const lazy = makeRequest(data, ctx());
      const real = buildRequest(data, new AbortController().signal);
      assert.ok(lazy instanceof Request);
      assert.equal(lazy.method, real.method);
      assert.equal(lazy.url, real.url);
      assert.deepEqual([...lazy.headers], [...real.headers]);
      assert.equal(lazy.headers, lazy.headers, 'one Headers object');
      assert.equal(Object.prototype.toString.call(lazy), '[object Request]');
      assert.equal(lazy.constructor, Request);
      assert.deepEqual(Object.keys(lazy), []);
    }
  });

  test('odd requests take the eager path and behave as before', () => {
    const bad = [rd('GET', '/', [['x', 'a\u0100']]), rd('CONNECT', '/'), { ...rd('GET', '/'), headers: [['host', 'u:p@h']] as [string, string][] }];
    for (const data of bad) {
      let lazyErr: unknown, realErr: unknown, lazy: Request | undefined, real: Request | undefined;
      try { lazy = makeRequest(data, ctx()); } catch (e) { lazyErr = e; }
      try { real = buildRequest(data, new AbortController().signal); } catch (e) { realErr = e; }
      assert.equal(lazy instanceof LazyRequest, false);
      assert.equal(String(lazyErr), String(realErr));
      assert.equal(lazy?.url, real?.url);
    }
  });

  test('body readers, clone, signal and the other members work', async () => {
    const data = rd('POST', '/j', [['content-type', 'application/json']], json);
    const r = makeRequest(data, ctx());
    assert.equal(r.bodyUsed, false);
    assert.equal(r.cache, 'default');
    assert.equal(r.credentials, 'same-origin');
    assert.equal(r.mode, 'cors');
    assert.equal(r.redirect, 'follow');
    assert.equal(r.keepalive, false);
    assert.equal(r.integrity, '');
    assert.equal(r.destination, '');
    assert.equal(r.referrer, 'about:client');
    assert.equal(r.duplex, 'half');
    assert.ok(r.signal instanceof AbortSignal);
    assert.equal(r.signal, r.signal);
    const c = r.clone();
    assert.ok(r.body instanceof ReadableStream);
    assert.deepEqual(await r.json(), { a: [1, 2] });
    assert.equal(r.bodyUsed, true);
    await assert.rejects(r.text(), TypeError);
    assert.equal(await c.text(), '{"a":[1,2]}');
    for (const m of ['arrayBuffer', 'blob', 'formData', 'bytes'] as const) {
      if (typeof (Request.prototype as unknown as Record<string, unknown>)[m] !== 'function') continue;
      const x = makeRequest(rd('POST', '/', [['content-type', 'text/plain']], json), ctx()) as unknown as Record<string, () => Promise<unknown>>;
      if (m === 'formData') await assert.rejects(x[m]!(), TypeError);
      else await x[m]!();
    }
    assert.match(inspect(makeRequest(rd('GET', '/i'), ctx())), /http:\/\/example\.test\/i/);
    assert.equal(makeRequest(rd('GET', '/'), ctx()).body, null);
  });

  test('headers changed before the body is read reach the real Request; new Request(lazy) copies it', async () => {
    const r = makeRequest(rd('PUT', '/q', [], json), ctx());
    r.headers.set('x-added', '1');
    const copy = new Request(r);
    assert.equal(copy.url, 'http://example.test/q');
    assert.equal(copy.method, 'PUT');
    assert.equal(copy.headers.get('x-added'), '1');
    assert.equal(await copy.text(), '{"a":[1,2]}');
    assert.equal(r.bodyUsed, true);
    assert.equal(r.clone === Request.prototype.clone, false);
    assert.throws(() => (Object.create(LazyRequest.prototype) as Request).text(), TypeError);
  });

  test('request.signal follows the lazy abort state, before or after it is read', async () => {
    const c1 = ctx();
    const r1 = makeRequest(rd('GET', '/'), c1);
    const s1 = r1.signal;
    assert.equal(s1.aborted, false);
    c1.abort(new Error('gone'));
    assert.equal(s1.aborted, true);
    assert.equal((s1.reason as Error).message, 'gone');
    const c2 = ctx();
    const r2 = makeRequest(rd('GET', '/'), c2);
    c2.abort(new Error('early'));
    assert.equal(r2.signal.aborted, true);
    assert.equal((r2.signal.reason as Error).message, 'early');
  });

  test('Hono: c.req.raw, c.req.json(), c.req.header(), new URL(request.url)', async () => {
    const app = new Hono();
    app.post('/h/:id', async (c) => c.json({
      raw: c.req.raw instanceof Request, id: c.req.param('id'), q: c.req.query('q'),
      ua: c.req.header('user-agent'), body: await c.req.json(), path: new URL(c.req.url).pathname,
      signal: c.req.raw.signal instanceof AbortSignal,
    }));
    const handler = makeFetchHandler(app.fetch as never, app, new BackgroundTasks(() => {}));
    const { sink, out } = collect();
    await handler(rd('POST', '/h/42?q=z', [['user-agent', 'ua/1'], ['content-type', 'application/json']], json), sink, ctx());
    assert.equal(out.status, 200);
    assert.deepEqual(JSON.parse(out.body), { raw: true, id: '42', q: 'z', ua: 'ua/1', body: { a: [1, 2] }, path: '/h/42', signal: true });
  });
});

describe('RequestAbort as the adapters\' ctx', () => {
  const APPS = new URL('../../test/fixtures/apps/', import.meta.url);
  test('an abort reaches fetch (request.signal) and node (req aborted, res close) apps', async () => {
    for (const file of ['fetch-object.mjs', 'plain.mjs', 'express.mjs']) {
      const a = await loadApp(new URL(file, APPS).pathname);
      const mod = (await import(new URL(file, APPS).href)) as { seen: { aborted: boolean; closed?: boolean } };
      mod.seen.aborted = false;
      const c = ctx();
      const { sink, out } = collect();
      const p = Promise.resolve(a.handler(rd('GET', '/slow'), sink, c));
      setImmediate(() => c.abort(new Error('client gone')));
      await assert.rejects(p, /client gone|aborted/);
      const deadline = Date.now() + 3000;
      while (!(mod.seen.aborted && (file === 'fetch-object.mjs' || mod.seen.closed))) {
        assert.ok(Date.now() < deadline, `${file}: the app saw the abort`);
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(out.status, undefined);
    }
  });

  test('an already aborted ctx rejects without running the app', async () => {
    for (const file of ['fetch-object.mjs', 'plain.mjs']) {
      const a = await loadApp(new URL(file, APPS).pathname);
      const c = ctx();
      c.abort(new Error('before'));
      const { sink, out } = collect();
      await assert.rejects(Promise.resolve(a.handler(rd('GET', '/hello'), sink, c)), /before/);
      assert.equal(out.status, undefined);
    }
  });
});

describe('RequestAbort', () => {
  test('no AbortController until signal is read; hooks run once, before the signal', () => {
    const a = new RequestAbort(3);
    assert.equal(a.workerId, 3);
    assert.equal(a.lazyAbort, a);
    const order: string[] = [];
    const h1 = (r: unknown) => order.push(`h1:${(r as Error).message}`);
    const h2 = () => order.push('h2');
    const h3 = () => order.push('h3');
    a.listen(h1);
    a.listen(h2);
    a.listen(h3);
    a.unlisten(h2);
    a.signal.addEventListener('abort', () => order.push('signal'));
    a.abort(new Error('x'));
    a.abort(new Error('y'));
    assert.deepEqual(order, ['h1:x', 'h3', 'signal']);
    assert.equal(a.aborted, true);
    a.listen(() => order.push('late'));
    assert.equal(order.length, 3);
  });

  test('abort() without a reason gives an AbortError, like AbortController', () => {
    const a = new RequestAbort(1);
    a.abort(undefined);
    assert.equal((a.reason as Error).name, 'AbortError');
    assert.equal(a.signal.reason, a.reason);
  });

  test('each request has its own signal', () => {
    assert.notEqual(new RequestAbort(1).signal, new RequestAbort(1).signal);
  });
});
