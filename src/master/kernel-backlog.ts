// The kernel's accept queue of TCP listening sockets, read from /proc/net/tcp and /proc/net/tcp6
// (Linux). There is no master queue: connections wait in the kernel until a
// worker accepts them, so this is the backlog the cheaper reads (uWSGI reads the same number with
// getsockopt(TCP_INFO), which Node does not expose).
//
// For a socket in LISTEN state (st 0A) the rx_queue column is the current accept-queue length
// (sk_ack_backlog: connections that completed the handshake and wait for accept(); it can reach
// listen + 1). The tx_queue column is NOT the backlog limit there (it reads 0); the limit is
// min(listen, net.core.somaxconn). Rows are matched by local port and, when the configured host
// is an IP address, by local address; a host name matches every listener on the port.
//
// UNIX sockets: /proc/net/unix has no queue column, and the queue length of a UNIX listener is
// only reachable through netlink sock_diag (UNIX_DIAG_RQLEN) or ioctls, not from Node without
// native code. Only TCP listeners are counted: a UNIX http-socket's waiting connections read as 0.
//
// Cost: the kernel lists the listening sockets before every other row, so reading stops at the
// first row that is neither LISTEN nor SYN_RECV (kernels before 4.4 printed a listener's pending
// requests beside it); on a host with many connections only the first chunk is read.
import { closeSync, openSync, readSync } from 'node:fs';
import { isIP } from 'node:net';
import { endianness } from 'node:os';

export interface ListenAddress {
  /** As configured: an IPv4/IPv6 literal, or a host name (then only the port is matched). */
  readonly host: string;
  readonly port: number;
}

const LISTEN = 0x0a;
const SYN_RECV = 0x03;
const CHUNK = 64 * 1024;

interface Target {
  /** Index into the caller's address list. */
  readonly index: number;
  /** 4-digit upper-case hex, as /proc prints it. */
  readonly port: string;
  /** 8 (tcp) or 32 (tcp6) hex digits as /proc prints them; null: any address on the port. */
  readonly address: string | null;
}

/**
 * The address as /proc/net/tcp{,6} prints it: each 32-bit word of the network-order address read
 * as a host-order integer, in %08X. `null` for a host name.
 */
export function procAddress(host: string, littleEndian = endianness() === 'LE'): string | null {
  const kind = isIP(host);
  if (kind === 0) return null;
  const bytes = kind === 4 ? host.split('.').map(Number) : ipv6Bytes(host);
  let out = '';
  for (let w = 0; w < bytes.length; w += 4) {
    const word = bytes.slice(w, w + 4);
    if (littleEndian) word.reverse();
    for (const b of word) out += b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function ipv6Bytes(host: string): number[] {
  let h = host;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(h); // ::ffff:1.2.3.4
  if (v4) {
    tail = v4[1]!.split('.').map(Number);
    h = h.slice(0, -v4[1]!.length) + '0:0';
  }
  const [head, rest] = h.includes('::') ? h.split('::') as [string, string] : [h, undefined];
  const parse = (s: string) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const a = parse(head);
  const b = rest === undefined ? [] : parse(rest);
  const groups = [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/**
 * The accept-queue length of each address in `text` (one /proc/net/tcp or tcp6 file): for each
 * target, the largest rx_queue of the LISTEN rows that match it (several rows match a port
 * listened on with SO_REUSEPORT, or a host name). Returns whether the listing went past the
 * listeners (the caller can stop reading).
 */
function scanListeners(text: string, targets: readonly Target[], out: number[]): boolean {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    // "  sl  local_address rem_address   st tx_queue rx_queue ..." then
    // "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000005 ..."
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !f[0]!.endsWith(':')) continue; // the header
    const state = parseInt(f[3]!, 16);
    if (state !== LISTEN) {
      if (state === SYN_RECV) continue;
      return true;
    }
    const local = f[1]!;
    const colon = local.lastIndexOf(':');
    const port = local.slice(colon + 1);
    const address = local.slice(0, colon);
    const rx = parseInt(f[4]!.slice(f[4]!.indexOf(':') + 1), 16);
    for (const t of targets) {
      if (t.port !== port || (t.address !== null && t.address !== address)) continue;
      if (Number.isFinite(rx) && rx > out[t.index]!) out[t.index] = rx;
    }
  }
  return false;
}

export class KernelBacklog {
  private readonly v4: Target[] = [];
  private readonly v6: Target[] = [];
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  /** false once /proc could not be read (not Linux): read() returns zeros without trying again. */
  available = process.platform === 'linux';
  /** Why /proc could not be read, once it could not. */
  error = process.platform === 'linux' ? '' : `${process.platform} has no /proc/net/tcp`;

  constructor(readonly addresses: readonly ListenAddress[], private readonly procNet = '/proc/net') {
    addresses.forEach((a, index) => {
      if (!(a.port > 0 && a.port < 65536)) return; // not a bound TCP address (a UNIX socket)
      const port = a.port.toString(16).toUpperCase().padStart(4, '0');
      const kind = isIP(a.host);
      const address = procAddress(a.host);
      if (kind !== 6) this.v4.push({ index, port, address });
      if (kind !== 4) this.v6.push({ index, port, address });
    });
  }

  /** The current accept-queue length of each address (0 where it cannot be read). Never throws. */
  queues(): number[] {
    const out = new Array<number>(this.addresses.length).fill(0);
    if (!this.available) return out;
    try {
      if (this.v4.length) this.scan(`${this.procNet}/tcp`, this.v4, out);
      if (this.v6.length) this.scan(`${this.procNet}/tcp6`, this.v6, out);
    } catch (err) {
      this.available = false;
      this.error = (err as Error).message;
      out.fill(0);
    }
    return out;
  }

  /** The instance backlog: the longest accept queue of the listeners (as uWSGI counts it). */
  read(): number {
    let max = 0;
    for (const q of this.queues()) if (q > max) max = q;
    return max;
  }

  private scan(path: string, targets: readonly Target[], out: number[]): void {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && path.endsWith('6')) return; // IPv6 is off
      throw err;
    }
    try {
      let carry = '';
      for (;;) {
        const n = readSync(fd, this.buf, 0, CHUNK, null);
        if (n === 0) {
          if (carry) scanListeners(carry, targets, out);
          return;
        }
        const text = carry + this.buf.toString('latin1', 0, n);
        const cut = text.lastIndexOf('\n') + 1;
        carry = text.slice(cut);
        if (scanListeners(text.slice(0, cut), targets, out)) return;
      }
    } finally {
      closeSync(fd);
    }
  }
}
