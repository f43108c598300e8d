// The workloads: what wrk sends, and how the servers answer (bench/apps/*.mjs, servers/*).
import path from 'node:path';
import { BENCH } from './setups.mjs';

export const WORKLOADS = {
  hello: { describe: 'hello world (13-byte text body)', path: '/' },
  cpu2ms: { describe: '~2 ms CPU: SHA-256 over 34 x 64 KiB (OpenSSL in both Node and Python)', path: '/' },
  io20ms: { describe: '~20 ms awaited I/O (setTimeout; time.sleep in the uWSGI sync worker, which blocks it)', path: '/' },
  hang1pct: {
    describe: 'hello world, but every 100th request (per wrk thread, bench/lua/hang.lua) hangs forever; uWSGI and Spindle run with --harakiri 1',
    path: '/', script: path.join(BENCH, 'lua', 'hang.lua'),
  },
  body1mb: { describe: '1 MiB POST echoed back (bench/lua/post1mb.lua)', path: '/', script: path.join(BENCH, 'lua', 'post1mb.lua') },
};

export const DEFAULT_WORKLOADS = Object.keys(WORKLOADS);
