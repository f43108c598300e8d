// Listening addresses as written in configs: `host:port`, `:port` (all interfaces), `[::1]:port`,
// or a UNIX socket path (anything containing '/'). Used by the config layer and by the listeners.
import { isIP } from 'node:net';
import { SpindleError } from '../errors.js';

export type ParsedAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

const FORMS = "host:port, :port, [ipv6]:port or a UNIX socket path containing '/'";
const bad = (message: string) => new SpindleError('CONFIG_INVALID_VALUE', message);

/** Parse an address; throws CONFIG_INVALID_VALUE naming the address when it is not valid. */
export function parseAddress(s: string): ParsedAddress {
  const text = s.trim();
  if (text === '') throw bad(`an address cannot be empty; give ${FORMS}`);
  if (text.includes('/')) return { kind: 'unix', path: text };
  if (text.startsWith('@')) throw bad(`abstract UNIX sockets (${text}) are not supported; use a path containing '/'`);
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
    if (isIP(host) !== 6) throw bad(`'${host}' in '${text}' is not an IPv6 address; write [ipv6]:port, e.g. [::1]:8000`);
  } else {
    const i = text.lastIndexOf(':');
    if (i < 0) throw bad(`'${text}' is neither host:port, :port, [ipv6]:port nor a UNIX path containing '/' (e.g. 127.0.0.1:8000, :8000 or /run/app.sock)`);
    host = text.slice(0, i);
    portText = text.slice(i + 1);
    if (host.includes(':')) throw bad(`'${text}': IPv6 addresses need brackets: write [${host}]:${portText}`);
    if (host !== '' && isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) {
      throw bad(`'${host}' in '${text}' is not a valid host name or IP address; give an IP, a host name, or nothing (:port = every interface)`);
    }
  }
  if (!/^\d{1,5}$/.test(portText)) throw bad(`port '${portText}' in '${text}' is not a number; give a port 0..65535`);
  const port = Number(portText);
  if (port > 65535) throw bad(`port ${port} in '${text}' is out of range; give a port 0..65535`);
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
