// ConnectionShare (src/worker/connection-share.ts): a worker holding clearly more than its share of
// the kept-alive connections tells some to close. Two workers' cells, this one and a peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { ConnectionShare } from '../src/worker/connection-share.js';

/** This worker's share (cell 0) beside a peer's cell (1), which starts at `peer` connections. */
function twoWorkers(peer = 0) {
  const buffer = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  const cells = new Int32Array(buffer);
  cells[1] = peer;
  const share = new ConnectionShare(buffer);
  share.attach(0);
  return { share, setPeer: (n: number) => Atomics.store(cells, 1, n), open: (n: number) => open(share, n) };
}

/** `n` connections accepted by `share`'s worker (socket stand-ins: only 'close' is used). */
function open(share: ConnectionShare, n: number): Socket[] {
  return Array.from({ length: n }, () => {
    const socket = new EventEmitter() as unknown as Socket;
    share.opened(socket);
    return socket;
  });
}

/** One request on each connection: how many were told to close. */
function shedCount(share: ConnectionShare, sockets: Socket[]): number {
  return sockets.filter((s) => share.shouldShed(s)).length;
}

test('a burst of connects after an idle tick is not shed: the limit is recomputed from the current counts', () => {
  const w = twoWorkers();
  w.share.rebalance(); // the last tick saw no connections at all: a stale limit of 2
  w.setPeer(32);
  const sockets = w.open(32);
  assert.equal(shedCount(w.share, sockets), 0, 'an even split of 64 connections stays as it is');
});

test('a worker over its share sheds down to it, once per connection, and stops', () => {
  const w = twoWorkers(14);
  const sockets = w.open(50);
  w.share.rebalance();
  // Average 32, limit ceil(32 × 1.1) + 2 = 38: 12 of the 50 are told to close.
  assert.equal(shedCount(w.share, sockets), 12);
  assert.equal(shedCount(w.share, sockets), 12, 'a connection told to close stays told; no others join');
  for (const s of sockets.slice(0, 12)) s.emit('close');
  assert.equal(shedCount(w.share, sockets.slice(12)), 0, 'back at its share after those closed');
});

for (const [peer, why] of [[-1, 'free'], [-2, 'left by a stopping worker']] as const) {
  test(`a worker alone never sheds (the other cell is ${why}: ${peer})`, () => {
    const w = twoWorkers(peer);
    const sockets = w.open(100);
    w.share.rebalance();
    assert.equal(shedCount(w.share, sockets), 0);
  });
}

test('the peer stops accepting while this worker is over its share: nothing more is shed', () => {
  const w = twoWorkers(10);
  const sockets = w.open(40);
  w.share.rebalance(); // average 25, limit 30: ten of this worker's connections would go
  w.setPeer(-2); // the peer began a graceful stop (ConnectionShare.leave)
  assert.equal(shedCount(w.share, sockets), 0, 'a worker alone keeps its connections: there is nowhere to move them');
});
