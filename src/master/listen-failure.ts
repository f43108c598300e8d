// A socket that cannot be bound, said in one line: the address, why, and — for an address in use —
// which process holds it, found as `ss -lp` does (the socket's inode in /proc/net/{tcp,tcp6,unix},
// then the /proc/PID/fd link to it). Linux only; elsewhere, or for another user's process, the
// line just says the address is in use.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ParsedAddress } from '../config/address.js';
import { SpindleError } from '../errors.js';

export class ListenError extends SpindleError {
  constructor(readonly address: string, message: string, cause: unknown) {
    super('LISTEN_FAILED', message, { cause });
    this.name = 'ListenError';
  }
}

/** `option` names the socket's option for the message ('http-socket', 'stats'). */
export function listenFailure(option: string, addr: ParsedAddress, err: unknown): ListenError {
  const code = (err as { code?: string } | null)?.code;
  const shown = addr.kind === 'unix' ? addr.path : `${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}`;
  let why: string;
  if (code === 'EADDRINUSE' || /in use by another server/.test((err as Error)?.message ?? '')) {
    const holder = holderOf(addr);
    why = `the address is already in use${holder ? ` by ${holder}` : ''}; stop that process or choose another address`;
  } else if (code === 'EACCES' && addr.kind === 'unix' && !existsSync(dirname(addr.path))) {
    // (libuv reports a missing directory as EACCES when it binds a UNIX socket)
    why = `its directory ${dirname(addr.path)} does not exist; create it (systemd: RuntimeDirectory=) or choose another path`;
  } else if (code === 'EACCES') {
    why = addr.kind === 'tcp' && addr.port < 1024
      ? `permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE (or listen on a higher port behind a proxy)`
      : 'permission denied';
  } else if (code === 'EADDRNOTAVAIL') {
    why = `${addr.kind === 'tcp' ? addr.host : shown} is not an address of this machine`;
  } else {
    why = (err as Error)?.message ?? String(err);
  }
  return new ListenError(shown, `cannot listen on ${shown} (${option}): ${why}`, err);
}

/** "pid 123 (node server.js)", or undefined when it cannot be found out. */
export function holderOf(addr: ParsedAddress): string | undefined {
  try {
    const inodes = addr.kind === 'unix' ? unixInodes(addr.path) : tcpInodes(addr.port);
    if (inodes.size === 0) return undefined;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let fds: string[];
      try { fds = readdirSync(`/proc/${pid}/fd`); } catch { continue; } // gone, or another user's
      for (const fd of fds) {
        let link: string;
        try { link = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(m[1]!)) return `pid ${pid}${command(pid)}`;
      }
    }
    return 'a process of another user';
  } catch {
    return undefined; // no /proc
  }
}

/** Inodes of the listening TCP sockets on `port` (any local address: a wildcard bind conflicts too). */
function tcpInodes(port: number): Set<string> {
  const out = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length > 9 && f[1]!.endsWith(`:${hexPort}`) && f[3] === '0A' && f[9] !== '0') out.add(f[9]!);
    }
  }
  return out;
}

function unixInodes(path: string): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode Path
    if (f.length >= 8 && f.slice(7).join(' ') === path) out.add(f[6]!);
  }
  return out;
}

function command(pid: string): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return cmd ? ` (${cmd.length > 80 ? `${cmd.slice(0, 77)}...` : cmd})` : '';
  } catch {
    return '';
  }
}
