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

/** declaredBody(): the body is chunked (a Transfer-Encoding header), its size unknown. */
export const CHUNKED = -2;
/** declaredBody(): no Content-Length and no Transfer-Encoding: no body. */
export const NO_BODY = -1;

/**
 * What the request's header list says of its body: CHUNKED, NO_BODY, or the Content-Length (the
 * first one, as req.headers keeps). Read from rawHeaders: req.headers is an object node:http
 * builds on first access, which a handler that never reads it does not otherwise pay for.
 */
export function declaredBody(req: IncomingMessage): number {
  const raw = req.rawHeaders;
  let length = NO_BODY;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return CHUNKED;
    if (name.length === 14 && length === NO_BODY && name.toLowerCase() === 'content-length') length = Number(raw[i + 1]);
  }
  return length;
}

export function readBody(req: IncomingMessage, res: ServerResponse, limit: number, on: BodyHandlers): void {
  const declared = declaredBody(req);
  if (limit > 0 && declared > limit) {
    on.tooLarge(declared);
    return;
  }
  if (declared !== CHUNKED && declared <= 0) {
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
