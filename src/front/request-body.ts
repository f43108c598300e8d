// Reads a request body into one buffer of its own, bounded by limit-post. A declared
// Content-Length over the limit is refused before any byte is read; a chunked body is refused
// as soon as it grows past it.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface BodyHandlers {
  /** The whole body (null when there is none), in a buffer the caller may transfer. */
  done: (body: Uint8Array | null) => void;
  /** The body is larger than `limit`: `size` bytes or more. */
  tooLarge: (size: number) => void;
}

export function readBody(req: IncomingMessage, res: ServerResponse, limit: number, on: BodyHandlers): void {
  const lengthHeader = req.headers['content-length'];
  const declared = lengthHeader === undefined ? -1 : Number(lengthHeader);
  if (limit > 0 && declared > limit) {
    on.tooLarge(declared);
    return;
  }
  if (declared <= 0 && req.headers['transfer-encoding'] === undefined) {
    on.done(null);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (limit > 0 && size > limit) {
      req.removeAllListeners('data');
      on.tooLarge(size);
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (res.writableEnded || res.destroyed) return; // already answered (413, 408)
    const body = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) { body.set(c, at); at += c.length; }
    on.done(size ? body : null);
  });
}
