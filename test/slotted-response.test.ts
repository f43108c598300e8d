// The byte count a response's log line and the stats' tx use (slotted-response.ts): net's
// internal count of bytes dispatched when nothing is queued, socket.bytesWritten otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { bytesOnWire } from '../src/front/slotted-response.js';
import { until } from './helpers/spindle.js';

test('bytesOnWire equals socket.bytesWritten with a write queued (a client that does not read) and once it has drained', async () => {
  let socket: Socket | undefined;
  const server = createServer((s) => { socket = s; });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const client = connect({ host: '127.0.0.1', port });
  client.pause(); // reads nothing until told: the server's writes pile up in its socket
  try {
    const accepted = await until(() => socket, 5000, 'the connection');
    assert.equal(bytesOnWire(accepted), 0);
    accepted.write('head\r\n');
    assert.equal(bytesOnWire(accepted), accepted.bytesWritten);
    const big = Buffer.alloc(32 * 1024 * 1024, 0x61); // more than the kernel's buffers take at once
    accepted.write(big);
    await until(() => accepted.writableLength > 0, 5000, 'a write queued in the socket');
    assert.equal(bytesOnWire(accepted), accepted.bytesWritten, 'queued bytes are counted');
    assert.equal(bytesOnWire(accepted), 6 + big.length);
    let got = 0;
    client.on('data', (d: Buffer) => { got += d.length; });
    client.resume();
    await until(() => accepted.writableLength === 0 && got === 6 + big.length, 10000, 'the write to drain');
    assert.equal(bytesOnWire(accepted), accepted.bytesWritten);
    assert.equal(bytesOnWire(accepted), 6 + big.length);
  } finally {
    client.destroy();
    server.close();
    socket?.destroy();
  }
});
