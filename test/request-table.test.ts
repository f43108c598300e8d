// The request table (src/protocol/request-table.ts): what the master reads of a worker's requests
// when it terminates the worker. The line is "METHOD /path", query left out, bounded in bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestTable, REQUEST_TABLE_BYTES } from '../src/protocol/request-table.js';

test('request table: lists method and path without the query, marks the running entry, frees removed ones', () => {
  const table = new RequestTable(new SharedArrayBuffer(REQUEST_TABLE_BYTES));
  const a = table.add('GET', '/users/42?token=secret', 1, 0);
  const b = table.add('POST', '/upload', 2, 5000);
  table.running(b);
  assert.deepEqual(table.list().map((r) => [r.method, r.path, r.running]), [['GET', '/users/42', false], ['POST', '/upload', true]]);
  assert.ok(!table.list().some((r) => r.path.includes('secret')));
  table.remove(a);
  table.running(-1);
  assert.deepEqual(table.list().map((r) => [r.method, r.path, r.running]), [['POST', '/upload', false]]);
});

test('request table: non-ASCII paths are encoded as UTF-8, and a long line is cut to its byte budget', () => {
  const table = new RequestTable(new SharedArrayBuffer(REQUEST_TABLE_BYTES));
  table.add('GET', '/café/ünïcode?q=1', 1, 0);
  table.add('GET', `/${'x'.repeat(500)}`, 1, 0);
  const [utf8, long] = table.list();
  assert.equal(utf8!.path, '/café/ünïcode');
  assert.equal(long!.method, 'GET');
  assert.ok(long!.path.startsWith('/xxx') && long!.path.length < 200, `cut: ${long!.path.length} chars`);
});

test('request table: an entry reused by a request like its last one keeps its line; any other request rewrites it whole', () => {
  const table = new RequestTable(new SharedArrayBuffer(REQUEST_TABLE_BYTES));
  const lines = (): string[] => table.list().map((r) => `${r.method} ${r.path}`);
  table.remove(table.add('GET', '/', 1, 0));
  table.remove(table.add('GET', '/', 2, 0));
  const e = table.add('GET', '/', 3, 0);
  assert.deepEqual(lines(), ['GET /']);
  table.remove(e);
  table.remove(table.add('DELETE', '/a/much/longer/path', 4, 0));
  const f = table.add('PUT', '/', 5, 0); // shorter than the line it replaces: nothing of it is left
  assert.equal(f, e, 'the same entry is reused');
  assert.deepEqual(lines(), ['PUT /']);
  table.remove(f);
  table.add('GET', '/?q=1', 6, 0); // another URL with the same path: rewritten, same line
  assert.deepEqual(lines(), ['GET /']);
});
