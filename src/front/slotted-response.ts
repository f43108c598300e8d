// node:http's response with slots for what the worker keeps about the request it answers and its
// connection, and a count of the bytes it put on the wire. A property added to each response after
// node:http made it (a symbol key, as before) gave the responses two hidden classes, so node:http's
// own code met both at every property it reads; fields declared here make every response of one
// shape from the start.
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export class SlottedResponse<Req extends IncomingMessage = IncomingMessage> extends ServerResponse<Req> {
  /** The worker's record of the request while the app has it (own-http.ts); undefined until it starts. */
  slot: unknown = undefined;
  /** Its connection's record (connection-flow.ts): read here, not from a symbol-keyed property of the socket, whose shapes vary. */
  flow: unknown = undefined;
  /** The socket while this response has it, and socket.bytesWritten when it got it. */
  private wire: Socket | null = null;
  private sentBefore = 0;
  /** Bytes written by this response, counted when it gave the socket back. */
  private sentTotal = -1;

  // node:http gives a pipelined response the socket only once the one before it has finished, and
  // takes it back once this one has: the socket's byte count between the two is this response's.
  // (At the end, not at the 'close' event: by then the next response may have written already.)
  override assignSocket(socket: Socket): void {
    this.wire = socket;
    this.sentBefore = bytesOnWire(socket);
    super.assignSocket(socket);
  }

  override detachSocket(socket: Socket): void {
    if (this.wire === socket) this.sentTotal = bytesOnWire(socket) - this.sentBefore;
    this.wire = null;
    super.detachSocket(socket);
  }

  /** The bytes this response put on the wire: all of them once it has finished, so far if it was cut. */
  bytesSent(): number {
    if (this.sentTotal >= 0) return this.sentTotal;
    return this.wire === null ? 0 : bytesOnWire(this.wire) - this.sentBefore;
  }
}

/** net's count of the bytes handed to the kernel (internal, in Node 20 to 24 at least). */
type Counted = Socket & { _bytesDispatched?: number };

/**
 * socket.bytesWritten, read cheaply where it can be: the getter copies the stream's write buffer
 * into a new array at every call to add what is still queued, twice per request here. With
 * nothing queued (a response that went out at once, the usual case) the total is net's own
 * count of bytes dispatched.
 */
export function bytesOnWire(socket: Counted): number {
  const dispatched = socket._bytesDispatched;
  if (socket.writableLength === 0 && typeof dispatched === 'number') return dispatched;
  return socket.bytesWritten;
}
