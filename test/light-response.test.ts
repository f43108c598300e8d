// The light Response of fetch apps (src/worker/adapters/light-response.ts) must be
// indistinguishable from undici's Response for what an app can observe, while keeping the body's
// source so that the adapter can send it without a web stream (lightSource). These compare it
// with undici's own Response, side by side, and check that the fetch adapter really sends that
// source in one call. The worker-side URL shortcut (request-url.ts) is checked against URL here too.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { LightResponse, lightHeaders, lightSource } from '../src/worker/adapters/light-response.js';
import { BackgroundTasks, makeFetchHandler } from '../src/worker/adapters/fetch.js';
import { requestHref } from '../src/worker/adapters/request-url.js';
import { RequestAbort } from '../src/worker/request-abort.js';
import type { RequestData, ResponseSink } from '../src/worker/app-types.js';

const Native = globalThis.Response; // undici's: nothing in this file installs the light one globally
const Light = LightResponse as unknown as typeof Response;
type Body = ConstructorParameters<typeof Response>[0];
type Init = ConstructorParameters<typeof Response>[1];

/** Everything an app can read of a Response without consuming it, plus its text. */
async function observe(r: Response): Promise<Record<string, unknown>> {
  return {
    status: r.status, statusText: r.statusText, ok: r.ok, type: r.type, url: r.url, redirected: r.redirected,
    headers: [...r.headers], setCookie: r.headers.getSetCookie(), bodyNull: r.body === null, bodyUsed: r.bodyUsed,
    text: await r.text(), usedAfter: r.bodyUsed,
  };
}

/** The error `fn` throws, as constructor name and message (undefined if it does not throw). */
function thrown(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return `${(err as Error).constructor.name}: ${(err as Error).message}`;
  }
}

const cookies = () => {
  const h = new Headers({ 'content-type': 'text/plain' });
  h.append('set-cookie', 'a=1; Path=/');
  h.append('set-cookie', 'b=2');
  return h;
};

// [description, body factory, init] — a fresh body per construction (bytes are copied, streams used once)
const CASES: [string, () => unknown, unknown][] = [
  ['no arguments', () => undefined, undefined],
  ['null body', () => null, { status: 201 }],
  ['string', () => 'héllo ✓', undefined],
  ['string, plain-object headers', () => 'hi', { headers: { 'Content-Type': 'text/html', 'X-A': ' padded ' } }],
  ['string, header pairs', () => 'hi', { headers: [['x-b', '1'], ['x-b', '2']] }],
  ['string, Headers with set-cookie', () => 'c', { status: 202, headers: cookies() }],
  ['empty string', () => '', undefined],
  ['Uint8Array', () => new Uint8Array([104, 105]), { status: 404 }],
  ['Buffer slice of a pool', () => Buffer.from('pooled bytes').subarray(2, 7), undefined],
  ['ArrayBuffer', () => new TextEncoder().encode('ab').buffer, undefined],
  ['DataView', () => new DataView(new TextEncoder().encode('xdvx').buffer, 1, 2), undefined],
  ['statusText', () => 'st', { status: 299, statusText: 'Fine Thanks' }],
  ['status given as a string', () => 'x', { status: '203' }],
  ['ReadableStream', () => new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('streamed')); c.close(); } }), undefined],
  ['Blob', () => new Blob(['blob'], { type: 'text/x-blob' }), undefined],
  ['URLSearchParams', () => new URLSearchParams({ a: '1', b: 'two' }), undefined],
  ['FormData-free object', () => ({ toString: () => 'stringified' }), undefined],
  ['null status 204', () => null, { status: 204, headers: { 'x-empty': '1' } }],
  // plain-object headers: kept as pairs until read (lightHeaders), or left to Headers when it would
  // change them (trim, join names that differ in case, convert a non-string)
  ['plain headers kept as pairs', () => 'p', { headers: { 'X-One': '1', 'Set-Cookie': 'a=1; Path=/', 'x-latin': 'caf\xe9', 'x-tab': 'a\tb', 'x-empty': '' } }],
  ['plain headers with a null prototype', () => 'n', { headers: Object.assign(Object.create(null), { 'x-n': 'v' }) }],
  ['plain headers whose names differ only in case', () => 'd', { headers: { 'X-Dup': 'a', 'x-dup': 'b' } }],
  ['plain headers with values Headers trims', () => 't', { headers: { 'x-t': '\tv\n', 'x-s': 'v ' } }],
  ['plain headers with a number', () => 's', { headers: { 'x-num': 5 } }],
  ['Response.json-like: plain headers with a Content-Type', () => '{}', { headers: { 'Content-Type': 'application/json' } }],
];

describe('LightResponse looks like undici Response', () => {
  for (const [what, body, init] of CASES) {
    test(what, async () => {
      const args = (b: unknown) => (b === undefined && init === undefined ? [] : [b, init]) as [Body?, Init?];
      const native = new Native(...args(body()));
      const light = new Light(...args(body()));
      assert.deepEqual(await observe(light), await observe(native));
      assert.ok(light instanceof Native, 'instanceof undici Response');
      assert.ok(light instanceof Light);
      assert.equal(Object.prototype.toString.call(light), '[object Response]');
      assert.equal(light.constructor.name, 'Response');
    });
  }

  test('errors are undici\'s own', () => {
    const bad: [unknown, unknown][] = [
      ['x', { status: 204 }], ['', { status: 304 }], ['x', { status: 99 }], ['x', { status: 600 }],
      ['x', { statusText: 'bad\ntext' }], ['x', { headers: { 'bad name': '1' } }], ['x', { headers: { a: 'b\r\nc' } }],
      ['x', { headers: { a: 'not latin-1 \u0100' } }], ['x', { headers: { a: 'nul \0 inside' } }], ['x', { headers: { 'é': '1' } }],
      ['x', { headers: { a: { toString() { throw new RangeError('from toString'); } } } }], ['x', { headers: { a: '1', [Symbol('s')]: '2' } }],
      ['x', 5], ['x', { headers: 5 }], [Symbol('s'), undefined],
    ];
    for (const [body, init] of bad) {
      const want = thrown(() => new Native(body as Body, init as Init));
      assert.ok(want, `undici refuses ${String(body)} ${JSON.stringify(init)}`);
      assert.equal(thrown(() => new Light(body as Body, init as Init)), want);
    }
    for (const args of [[], [undefined], [1n], [{ a: 1 }, { status: 204 }], [{ a: 1 }, { status: 1000 }]]) {
      const json = (R: typeof Response) => () => (R.json as (...a: unknown[]) => Response)(...args);
      assert.equal(thrown(json(Light)), thrown(json(Native)), `json(${args.map(String).join(', ')})`);
    }
  });

  test('Response.json, error and redirect', async () => {
    const data = { a: [1, 'two'], b: null };
    for (const init of [undefined, { status: 201, headers: { 'x-j': '1' } }, { headers: { 'content-type': 'application/vnd.x+json' } }] as Init[]) {
      assert.deepEqual(await observe(Light.json(data, init)), await observe(Native.json(data, init)));
    }
    assert.equal(lightSource(Light.json(data)), JSON.stringify(data));
    const e = Light.error();
    assert.equal(e.type, 'error');
    assert.equal(e.status, 0);
    const r = Light.redirect('http://example.test/x', 307);
    assert.equal(r.status, 307);
    assert.equal(r.headers.get('location'), 'http://example.test/x');
  });

  test('instanceof: undici\'s own Responses, and subclasses check their own prototype', async () => {
    const fetched = await fetch('data:text/plain,abc');
    assert.ok(fetched instanceof Light, 'a fetch() Response');
    class Mine extends Light { extra(): number { return 1; } }
    const m = new Mine('sub', { status: 201 });
    assert.ok(m instanceof Mine && m instanceof Light && m instanceof Native);
    assert.equal(m.extra(), 1);
    assert.equal(await m.text(), 'sub');
    assert.equal(new Light('x') instanceof Mine, false);
    assert.equal(fetched instanceof Mine, false);
    assert.equal(lightSource(new Mine('kept')), 'kept');
  });

  test('clone() is independent, and refuses a used body as undici does', async () => {
    const r = new Light('once', { headers: { 'x-a': '1' } });
    const c = r.clone();
    c.headers.set('x-a', '2');
    assert.equal(r.headers.get('x-a'), '1');
    assert.equal(await c.text(), 'once');
    assert.equal(await r.text(), 'once');
    assert.equal(thrown(() => r.clone()), thrown(() => { const n = new Native('once'); void n.text(); n.clone(); }));
    // a clone taken after the body stream exists tees it
    const s = new Light('teed');
    assert.ok(s.body);
    const t = s.clone();
    assert.equal(await t.text(), 'teed');
    assert.equal(await s.text(), 'teed');
  });

  test('the headers object stays the live one after the body is used; blob() follows its Content-Type', async () => {
    const r = new Light(new Uint8Array([1, 2, 3]), { headers: { 'content-type': 'application/x-one' } });
    const h = r.headers;
    const stream = r.body;
    assert.ok(stream instanceof ReadableStream);
    assert.equal(r.body, stream, 'the same stream each time');
    h.set('content-type', 'application/x-two');
    assert.equal(r.headers, h);
    const blob = await r.blob();
    assert.equal(blob.type, 'application/x-two');
    assert.equal(blob.size, 3);
    assert.equal(r.bodyUsed, true);
  });
});

describe('lightSource: the body the adapter sends without a stream', () => {
  test('string, bytes (a private copy), JSON and null', () => {
    assert.equal(lightSource(new Light('text')), 'text');
    assert.equal(lightSource(new Light()), null);
    assert.equal(lightSource(new Light(null, { status: 204 })), null);
    const bytes = new Uint8Array([1, 2, 3]);
    const r = new Light(bytes);
    bytes[0] = 9; // the app reuses its buffer: the response keeps what it was given (undici copies too)
    assert.deepEqual(lightSource(r), new Uint8Array([1, 2, 3]));
    const view = Buffer.from('0123456789').subarray(3, 6);
    assert.deepEqual(Buffer.from(lightSource(new Light(view)) as Uint8Array).toString(), '345');
    assert.equal(lightSource(Light.json({ n: 1 })), '{"n":1}');
  });

  test('nothing for streams and other bodies, for undici Responses and non-Responses', () => {
    assert.equal(lightSource(new Light(new ReadableStream())), undefined);
    assert.equal(lightSource(new Light(new Blob(['b']))), undefined);
    assert.equal(lightSource(new Light(new URLSearchParams('a=1'))), undefined);
    assert.equal(lightSource(new Light('x', { status: '200' } as unknown as Init)), undefined, 'an init the light form leaves to undici');
    assert.equal(lightSource(new Native('x')), undefined);
    assert.equal(lightSource({ status: 200 }), undefined);
  });

  test('nothing once the app read or locked the body; the source again if it only looked at it', async () => {
    const read = new Light('read');
    await read.text();
    assert.equal(lightSource(read), undefined);
    const locked = new Light('locked');
    locked.body!.getReader();
    assert.equal(lightSource(locked), undefined);
    const looked = new Light('looked');
    assert.ok(looked.body !== null);
    assert.equal(lightSource(looked), 'looked');
  });
});

describe('lightHeaders: the headers the adapter sends without a Headers object', () => {
  test('a plain init\'s pairs, lower-case, in the app\'s order, the default Content-Type last', () => {
    assert.deepEqual(lightHeaders(new Light('s', { headers: { 'X-B': '2', 'x-a': '1' } })), [['x-b', '2'], ['x-a', '1'], ['content-type', 'text/plain;charset=UTF-8']]);
    assert.deepEqual(lightHeaders(new Light('s', { headers: { 'Content-Type': 'text/html' } })), [['content-type', 'text/html']]);
    assert.deepEqual(lightHeaders(Light.json(1, { headers: { 'x-j': 'y' } })), [['x-j', 'y'], ['content-type', 'application/json']]);
    assert.deepEqual(lightHeaders(new Light()), []);
    assert.deepEqual(lightHeaders(new Light(new Uint8Array(1))), [], 'bytes get no default Content-Type');
  });

  test('none once the app read response.headers, which then holds them; none for other inits and Responses', () => {
    const r = new Light('s', { headers: { 'x-a': '1' } });
    const h = r.headers;
    assert.equal(lightHeaders(r), undefined);
    assert.deepEqual([...h], [['content-type', 'text/plain;charset=UTF-8'], ['x-a', '1']]);
    assert.equal(r.headers, h, 'the same object each time');
    for (const init of [{ headers: new Headers({ a: '1' }) }, { headers: [['a', '1']] }, { headers: { a: ' trimmed' } }, { headers: { A: '1', a: '2' } }]) {
      assert.equal(lightHeaders(new Light('s', init as Init)), undefined, JSON.stringify(init));
    }
    assert.equal(lightHeaders(new Light('s', { headers: new Proxy({ a: '1' }, {}) })), undefined, 'a proxy is left to Headers');
    assert.equal(lightHeaders(new Light(new Blob(['b']), { headers: { a: '1' } })), undefined);
    assert.equal(lightHeaders(new Native('s', { headers: { a: '1' } })), undefined);
  });

  test('the init is copied: changing it after the Response was made changes nothing', () => {
    const headers: Record<string, string> = { 'x-m': 'before' };
    const r = new Light('m', { headers });
    headers['x-m'] = 'after';
    headers['x-new'] = '1';
    assert.deepEqual(lightHeaders(r), [['x-m', 'before'], ['content-type', 'text/plain;charset=UTF-8']]);
  });

  test('a getter in the init is read once, as undici reads it', () => {
    let reads = 0;
    const headers = { get 'x-g'() { reads++; return 'v'; } };
    const r = new Light('g', { headers });
    assert.equal(reads, 1);
    assert.equal(r.headers.get('x-g'), 'v');
  });

  test('a clone has its own pairs; the Content-Type the carrier gets follows them', async () => {
    const r = new Light('c', { headers: { 'content-type': 'text/x-one' } });
    const c = r.clone();
    c.headers.set('content-type', 'text/x-two');
    assert.deepEqual(lightHeaders(r), [['content-type', 'text/x-one']]);
    assert.equal((await r.blob()).type, 'text/x-one');
    assert.equal((await c.blob()).type, 'text/x-two');
  });
});

describe('the fetch adapter sends a light body in one call', () => {
  const rd = (method: string, url: string): RequestData => ({
    id: 1, method, url, httpVersion: '1.1', headers: [['host', 'a.test']],
    remoteAddress: '', remotePort: 0, localAddress: '127.0.0.1', localPort: 80, scheme: 'http', body: null,
  });
  type Call = [kind: string, ...args: unknown[]];
  const recorder = () => {
    const calls: Call[] = [];
    const sink: ResponseSink = {
      head: (s, h) => { calls.push(['head', s, h]); },
      chunk: (d) => { calls.push(['chunk', Buffer.from(d).toString()]); },
      end: () => { calls.push(['end']); },
      full: (s, h, b) => { calls.push(['full', s, h, b]); },
    };
    return { sink, calls };
  };
  const run = async (respond: () => Response, method = 'GET') => {
    const handler = makeFetchHandler(respond, undefined, new BackgroundTasks(() => {}));
    const { sink, calls } = recorder();
    const result = handler(rd(method, '/'), sink, new RequestAbort(1));
    await result;
    return { calls, sync: result === undefined };
  };

  test('a string body: sink.full() with the string itself, synchronously (no promise, no stream)', async () => {
    const { calls, sync } = await run(() => new Light('héllo', { headers: { 'x-a': '1' } }));
    assert.equal(sync, true, 'the handler returned no promise');
    assert.equal(calls.length, 1);
    const [kind, status, headers, body] = calls[0]!;
    assert.equal(kind, 'full');
    assert.equal(status, 200);
    assert.equal(body, 'héllo', 'the string source, not bytes read from a stream');
    assert.deepEqual(headers, [['x-a', '1'], ['content-type', 'text/plain;charset=UTF-8']], 'the app\'s headers, in its order (the front adds Content-Length)');
  });

  test('headers: a plain init\'s pairs as they are; a Headers object\'s pairs with every Set-Cookie apart', async () => {
    const plain = await run(() => new Light('f', { headers: { 'Set-Cookie': 'a=1', 'X-K': 'v', connection: 'close' } }));
    assert.deepEqual(plain.calls[0]![2], [['set-cookie', 'a=1'], ['x-k', 'v'], ['connection', 'close'], ['content-type', 'text/plain;charset=UTF-8']]);
    const h = await run(() => new Light('c', { headers: cookies() }));
    assert.deepEqual(h.calls[0]![2], [['content-type', 'text/plain'], ['set-cookie', 'a=1; Path=/'], ['set-cookie', 'b=2']]);
  });

  test('one Response sent twice sends the same headers twice (what a send adds is not kept)', async () => {
    const shared = new Light('same', { headers: { 'x-s': '1' } });
    const first = await run(() => shared);
    const second = await run(() => shared);
    assert.deepEqual(second.calls, first.calls);
    assert.deepEqual(lightHeaders(shared), [['x-s', '1'], ['content-type', 'text/plain;charset=UTF-8']]);
  });

  test('bytes: the light response\'s own copy; HEAD, 204 and null bodies: no body', async () => {
    let made: Response | undefined;
    const bytes = await run(() => (made = new Light(new Uint8Array([1, 2]))));
    assert.equal(bytes.calls[0]![0], 'full');
    assert.equal(bytes.calls[0]![3], lightSource(made!), 'the very Uint8Array the response keeps');
    for (const [respond, method] of [[() => new Light('x'), 'HEAD'], [() => new Light(null, { status: 204 }), 'GET'], [() => new Light(), 'GET']] as const) {
      const { calls } = await run(respond, method);
      assert.equal(calls.length, 1);
      assert.equal(calls[0]![0], 'full');
      assert.equal(calls[0]![3], null);
    }
  });

  test('a stream body is still streamed through head/chunk/end', async () => {
    const { calls, sync } = await run(() => new Light(new ReadableStream({
      start(c) { c.enqueue(new TextEncoder().encode('s1')); },
      // the second chunk only after the adapter's end-of-tick check (an immediate queued before
      // this one), whatever the machine's speed: a timer could fire first on a slow turn
      pull(c) { return new Promise((r) => setImmediate(r)).then(() => { c.enqueue(new TextEncoder().encode('s2')); c.close(); }); },
    })));
    assert.equal(sync, false);
    assert.deepEqual(calls.map((c) => c[0]), ['head', 'chunk', 'chunk', 'end']);
    assert.deepEqual(calls.filter((c) => c[0] === 'chunk').map((c) => c[1]), ['s1', 's2']);
  });
});

test('installLightResponse() makes it the global Response of a thread, which stays so once undici is loaded', async () => {
  const mod = new URL('../src/worker/adapters/light-response.js', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.mod).then(async ({ installLightResponse, lightSource, LightResponse }) => {
      installLightResponse();
      const first = globalThis.Response === LightResponse;
      const r = new Response('in a worker');
      const err = Response.error(); // loads undici's Response, whose lazy global getter redefines the global
      const fetched = await fetch('data:,x');
      parentPort.postMessage({ first, still: globalThis.Response === LightResponse, source: lightSource(r),
        errType: err.type, fetchedIsResponse: fetched instanceof Response });
    }).catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
  `;
  const w = new Worker(code, { eval: true, workerData: { mod } });
  try {
    const msg = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    assert.deepEqual(msg, { first: true, still: true, source: 'in a worker', errType: 'error', fetchedIsResponse: true });
  } finally {
    await w.terminate();
  }
});

describe('requestHref matches URL', () => {
  const reference = (scheme: 'http' | 'https', host: string, target: string): string | null => {
    try {
      const u = new URL(`${scheme}://${host}${target}`);
      return u.username || u.password ? null : u.href;
    } catch {
      return null;
    }
  };

  test('chosen cases', () => {
    const hosts = ['localhost', 'Example.COM', '127.0.0.1:8080', 'h:80', '[::1]:3000', 'user@h', 'a:b@h', 'x/y', 'h?q', 'h#f', 'bad host', '', 'exé.com', 'h:', 'h:99999', '[::ffff:1.2.3.4]'];
    const targets = ['/', '/a/b?c=d&e', '/%2e%2E/x', '/a/./b', '/a/../b', '/a/.', '/..', '//evil/x', "/it's", '/q?x y', '/{}', '/a\\b', '/é', '/a?b#c', '/.well-known/x', '/a..b/c.d', '/%zz', '/?'];
    for (const scheme of ['http', 'https'] as const) {
      for (const host of hosts) {
        for (const target of targets) assert.equal(requestHref(scheme, host, target), reference(scheme, host, target), `${scheme}://${host}${target}`);
      }
    }
  });

  test('random targets', () => {
    const chars = "aZ09-._~!$&'()*+,;=:@/?%#[]\\ \"<>`{}^|\t.2eEé中";
    let seed = 12345;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    for (let i = 0; i < 20000; i++) {
      let target = '/';
      for (let j = rand(12); j > 0; j--) target += chars[rand(chars.length)];
      const host = ['localhost:8080', 'Example.test', '[::1]', 'h@x'][i % 4]!;
      assert.equal(requestHref('http', host, target), reference('http', host, target), target);
    }
  });
});
