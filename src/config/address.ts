// Listening addresses as written in configs: `host:port`, `:port` (all interfaces), `[::1]:port`,
// or a UNIX socket path (anything containing '/'). Used by the config layer and by the listeners.
import { isIP } from 'node:net';

export type ParsedAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** Parse an address; throws an Error with a readable message when it is not valid. */
export function parseAddress(s: string): ParsedAddress {
  const text = s.trim();
  if (text === '') throw new Error('an address cannot be empty');
  if (text.includes('/')) return { kind: 'unix', path: text };
  if (text.startsWith('@')) throw new Error(`abstract UNIX sockets (${text}) are not supported; use a path containing '/'`);
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
    if (isIP(host) !== 6) throw new Error(`'${host}' in '${text}' is not an IPv6 address`);
  } else {
    const i = text.lastIndexOf(':');
    if (i < 0) throw new Error(`'${text}' is neither host:port, :port, [ipv6]:port nor a UNIX path containing '/'`);
    host = text.slice(0, i);
    portText = text.slice(i + 1);
    if (host.includes(':')) throw new Error(`IPv6 addresses need brackets: [${host}]:${portText}`);
    if (host !== '' && isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) {
      throw new Error(`'${host}' in '${text}' is not a valid host name or IP address`);
    }
  }
  if (!/^\d{1,5}$/.test(portText)) throw new Error(`port '${portText}' in '${text}' is not a number`);
  const port = Number(portText);
  if (port > 65535) throw new Error(`port ${port} in '${text}' is out of range 0..65535`);
  // ':port' means every interface, as in uWSGI. 0 = an ephemeral port (tests use it).
  return { kind: 'tcp', host: host === '' ? '0.0.0.0' : host, port };
}

/**
 * Is this address reachable only from this machine? UNIX paths, 127.0.0.0/8, ::1 and `localhost`
 * are; `:port` (every interface), other IPs and host names (they may resolve anywhere) are not.
 */
export function isLocalOnlyAddress(s: string): boolean {
  let a: ParsedAddress;
  try {
    a = parseAddress(s);
  } catch {
    return false;
  }
  if (a.kind === 'unix') return true;
  const h = a.host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
