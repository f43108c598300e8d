// The kernel accept queue reader (src/master/kernel-backlog.ts): /proc's address format, the row
// matching on made-up /proc files, and a real listening socket whose accept queue fills up because
// the process that owns it never accepts (its only thread is blocked in Atomics.wait).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelBacklog, procAddress } from '../src/master/kernel-backlog.js';
import { until } from './helpers/spindle.js';

test('procAddress: each 32-bit word of the address in host order, as /proc/net/tcp{,6} print it', () => {
  assert.equal(procAddress('127.0.0.1', true), '0100007F');
  assert.equal(procAddress('127.0.0.1', false), '7F000001');
  assert.equal(procAddress('0.0.0.0', true), '00000000');
  assert.equal(procAddress('10.1.2.3', true), '0302010A');
  assert.equal(procAddress('::1', true), '00000000000000000000000001000000');
  assert.equal(procAddress('::', true), '0'.repeat(32));
  assert.equal(procAddress('::ffff:127.0.0.1', true), '0000000000000000FFFF00000100007F');
  assert.equal(procAddress('2001:db8::ff00:42:8329', true), 'B80D01200000000000FF000029834200');
  assert.equal(procAddress('localhost'), null);
});

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const row = (sl: number, local: string, st: string, rx: number) =>
  `${String(sl).padStart(4)}: ${local} 00000000:0000 ${st} 00000000:${rx.toString(16).toUpperCase().padStart(8, '0')} 00:00000000 00000000     0        0 1${sl} 1 0000000000000000 100 0 0 10 0\n`;

test('KernelBacklog: matches LISTEN rows by port and address, a host name by port only, and stops at the first connection row', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-procnet-'));
  try {
    writeFileSync(join(dir, 'tcp'), HEADER +
      row(0, '0100007F:1F90', '0A', 7) + // 127.0.0.1:8080
      row(1, '00000000:1F91', '0A', 2) + // 0.0.0.0:8081
      row(2, '00000000:1F91', '0A', 9) + // 0.0.0.0:8081 again (SO_REUSEPORT): the longest queue
      row(3, '0100007F:1F92', '03', 1) + // a pending request beside its listener (kernels < 4.4)
      row(4, '0100007F:1F92', '0A', 4) + // 127.0.0.1:8082
      row(5, '0100007F:1F90', '01', 50) + // a connection: the listeners are over, reading stops
      row(6, '0100007F:1F93', '0A', 8)); // never read
    writeFileSync(join(dir, 'tcp6'), HEADER + row(0, '00000000000000000000000001000000:1F94', '0A', 3)); // [::1]:8084
    const k = new KernelBacklog([
      { host: '127.0.0.1', port: 8080 },
      { host: '0.0.0.0', port: 8081 },
      { host: '10.0.0.1', port: 8080 }, // another address on the port: not this row
      { host: '127.0.0.1', port: 8082 },
      { host: '127.0.0.1', port: 8083 },
      { host: '::1', port: 8084 },
      { host: 'localhost', port: 8084 }, // a host name: any address on the port, IPv4 or IPv6
      { host: '/run/app.sock', port: 0 }, // not TCP: never counted
    ], dir);
    assert.deepEqual(k.queues(), [7, 9, 0, 4, 0, 3, 3, 0]);
    assert.equal(k.read(), 9, 'the instance backlog is the longest queue (as uWSGI counts it)');
    assert.equal(k.available, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('KernelBacklog: rows split across read chunks; no tcp6 file is not an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-procnet-'));
  try {
    let text = HEADER;
    for (let i = 0; i < 2000; i++) text += row(i, `0100007F:${(10000 + i).toString(16).toUpperCase()}`, '0A', i % 50);
    writeFileSync(join(dir, 'tcp'), text);
    assert.ok(text.length > 3 * 64 * 1024);
    const ports = [10000, 10437, 10874, 11311, 11999];
    const k = new KernelBacklog(ports.map((port) => ({ host: '127.0.0.1', port })), dir);
    assert.deepEqual(k.queues(), ports.map((p) => (p - 10000) % 50));
    const byName = new KernelBacklog([{ host: 'localhost', port: 10437 }], dir);
    assert.equal(byName.read(), 37);
    assert.equal(byName.available, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('KernelBacklog: without /proc/net it reads 0, says why, and never throws', () => {
  const k = new KernelBacklog([{ host: '127.0.0.1', port: 8080 }], join(tmpdir(), 'spindle-no-such-proc-net'));
  assert.equal(k.read(), 0);
  assert.equal(k.available, false);
  assert.match(k.error, /ENOENT/);
  assert.equal(k.read(), 0);
});

/** A child process that listens with a small backlog and then never accepts (its thread blocks). */
async function neverAccepting(host: string, backlog: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', `
    const s = require('node:net').createServer();
    s.on('error', (e) => { process.stdout.write('error ' + e.code + '\\n'); process.exit(1); });
    s.listen({ host: ${JSON.stringify(host)}, port: 0, backlog: ${backlog} }, () => {
      process.stdout.write(s.address().port + '\\n'); // a pipe: written synchronously
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // no accept() from now on
    });`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; if (out.includes('\n')) resolve(out.trim()); });
    child.once('exit', (code) => reject(new Error(`the listener exited (${code}): ${out}`)));
  });
  if (!/^\d+$/.test(line)) {
    child.kill('SIGKILL');
    throw new Error(line);
  }
  return { child, port: Number(line) };
}

for (const host of ['127.0.0.1', '::1']) {
  test(`KernelBacklog: a real listening socket on ${host} that nobody accepts on: the queue grows with each connection and stops at listen + 1`, async () => {
    const { child, port } = await neverAccepting(host, 4);
    const clients: Socket[] = [];
    try {
      const exact = new KernelBacklog([{ host, port }]);
      const byName = new KernelBacklog([{ host: 'localhost', port }]);
      const other = new KernelBacklog([{ host, port: port === 65535 ? 65534 : port + 1 }]);
      assert.equal(exact.read(), 0, 'nothing waits yet');
      for (let i = 1; i <= 3; i++) {
        const c = connect({ host, port });
        c.on('error', () => {});
        clients.push(c);
        await new Promise((resolve) => c.once('connect', resolve)); // the handshake completed in the kernel
        await until(() => exact.read() === i, 5000, `${i} connection(s) in the accept queue (read ${exact.read()})`);
      }
      // Five more: the queue holds listen + 1 = 5; the others stay in SYN_SENT (the queue is full).
      for (let i = 0; i < 5; i++) {
        const c = connect({ host, port });
        c.on('error', () => {});
        clients.push(c);
      }
      await until(() => exact.read() === 5, 5000, `a full accept queue (read ${exact.read()})`);
      assert.deepEqual(exact.queues(), [5]);
      assert.equal(byName.read(), 5, 'a host name matches the port on any address');
      assert.equal(other.read(), 0);
      assert.equal(exact.available, true);
    } finally {
      for (const c of clients) c.destroy();
      child.kill('SIGKILL');
    }
  });
}
