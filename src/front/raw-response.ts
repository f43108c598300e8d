// A complete plain-text HTTP/1.1 answer as one string, for the places that write to a bare socket
// (malformed requests, timeouts, a dying worker's last answers): no ServerResponse is involved.
import { STATUS_CODES } from 'node:http';

/** `status` with `message` as its body; `extra` header lines (each ending in CRLF); the connection closes. */
export function rawResponse(status: number, message: string, extra = ''): string {
  const reason = STATUS_CODES[status] ?? 'Error';
  const body = `${status} ${reason}: ${message}\n`;
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`;
}
