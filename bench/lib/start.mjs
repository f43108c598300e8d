// Starting a setup for a measurement and pinning it and wrk to CPUs, shared by run.mjs and cpu-accounting.mjs.
import { spawnGroup, freePort, waitReady, httpGet } from './proc.mjs';
import { SETUPS } from './setups.mjs';

/** Start a setup; resolves {handle, port, readyMs} or {error}. Retries with a new port on EADDRINUSE. */
export async function startSetup(name, workload, cpus) {
  const def = SETUPS[name];
  let lastErr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const { cmd, args, env } = def.command({ port: String(port), workload });
    const handle = spawnGroup(cmd, args, { cpus, env, label: `${name}/${workload}` });
    const ready = await waitReady(`http://127.0.0.1:${port}/`, handle, def.startDeadlineMs ?? 15000);
    if (ready.ok) return { handle, port, readyMs: ready.ms, cmdline: [cmd, ...args].join(' ') };
    await handle.stop(500);
    const tail = handle.out.text.trim().split('\n').slice(-12).join('\n');
    lastErr = `${ready.reason}${tail ? `; output tail:\n${tail}` : ''}`;
    if (/ERR_MODULE_NOT_FOUND/.test(tail) && /dist\//.test(tail)) lastErr += '\n(hint: build first: npm run build)';
    if (!/EADDRINUSE|Address already in use/i.test(tail)) break;
  }
  return { error: lastErr };
}

/** A few sequential requests after readiness (JIT, connection setup), bounded in time. */
export async function primer(url, workload) {
  const t0 = performance.now();
  const body = workload === 'body1mb' ? Buffer.alloc(1024 * 1024, 0x78) : undefined;
  for (let i = 0; i < 20 && performance.now() - t0 < 2000; i++) {
    try { await httpGet(url, { timeoutMs: 1000, method: body ? 'POST' : 'GET', body }); } catch { /* measured later */ }
  }
}

/** Where the server and wrk run: `shared` (run.mjs's default), `split` or `none`. */
export function pinning(mode, nproc) {
  if (mode === 'none' || nproc < 2) {
    return { server: undefined, wrk: undefined, text: nproc < 2 ? `none (only ${nproc} CPU)` : 'none (--pin none)' };
  }
  const last = nproc - 1;
  if (mode === 'split') {
    return { server: '0', wrk: String(last), text: `split: server \`taskset -c 0\` (all its processes/threads on one CPU), wrk \`taskset -c ${last}\` with 1 thread` };
  }
  return {
    server: `0-${last}`, wrk: String(last),
    text: `shared: wrk \`taskset -c ${last}\` with 1 thread; server \`taskset -c 0-${last}\` (every CPU, so 2-process/2-thread setups can use both cores; ` +
      `the single-threaded node-http gets cpu 0 to itself in practice, since wrk keeps cpu ${last} busy). ` +
      `Use --pin split for server-on-cpu0-only numbers (then 2-worker setups cannot scale).`,
  };
}
