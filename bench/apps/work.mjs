// The work every setup does, in one place, so node:http, cluster, piscina and Spindle run identical code.
// The Python twin for uWSGI is bench/servers/wsgi_app.py (same constants, same OpenSSL SHA-256).
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

export const HELLO = 'Hello, World!';
export const CPU_CHUNK = Buffer.alloc(64 * 1024, 0x61); // 64 KiB of 'a'
export const CPU_ROUNDS = 34;                              // 34 x 64 KiB = 2.125 MiB of SHA-256 ~ 2 ms
export const IO_MS = 20;

/** ~2 ms of CPU: SHA-256 over 34 x 64 KiB (OpenSSL, like Python's hashlib). Returns the hex digest. */
export function cpuWork() {
  const h = createHash('sha256');
  for (let i = 0; i < CPU_ROUNDS; i++) h.update(CPU_CHUNK);
  return h.digest('hex');
}

/** ~20 ms of awaited I/O. */
export function ioWork() { return delay(IO_MS); }

/** A request that never finishes (a stuck upstream with no timeout): the case harakiri exists for. */
export function hangForever() { return new Promise(() => {}); }

/** The hang workload marks every 100th request (per wrk thread, see bench/lua/hang.lua) with this path. */
export function isHangPath(url) { return url.startsWith('/hang'); }
