// Full reload, the old process's side: start the new process (or have the supervising parent
// start it), send it every listening socket's keeper, and wait for it to serve; if it does not,
// stop it and keep serving. The whole sequence: src/master/full-reload/recycler.ts.
import { spawn } from 'node:child_process';
import type { Log } from '../../log/logger.js';
import type { SharedSocket } from '../shared-sockets.js';
import type { OwnedSocket } from '../owned-files.js';
import { writePidfile } from '../pidfile.js';
import type { ServerSettings } from '../settings.js';
import type { CacheStores } from '../cache-stores.js';
import type { ParentLink, SuccessorProcess } from '../parent-link.js';
import { HANDOVER_ENV, type SocketMeta, type ToNewServer, type ToOldServer } from '../../protocol/handover.js';

// Captured when the module loads, before the server changes directory (chdir) or sets `env`.
const ORIGINAL_CWD = process.cwd();
const ORIGINAL_ENV: NodeJS.ProcessEnv = { ...process.env };
delete ORIGINAL_ENV[HANDOVER_ENV];

/** One socket to hand over: a shared socket's keeper descriptor. */
export interface Outgoing { meta: SocketMeta; handle: object | undefined; owned: OwnedSocket }

export function outgoingSockets(shared: readonly SharedSocket[]): Outgoing[] {
  return shared.map((s) => ({
    meta: { kind: s.kind, spec: s.spec, url: s.url, host: s.host, port: s.port, unixPath: s.unixPath },
    handle: s.keeper as object,
    owned: s,
  }));
}

/** What the old side uses of the server (src/master/server.ts). */
export interface HandOverHost {
  readonly settings: ServerSettings;
  readonly cacheStores: CacheStores;
  observation(): { shuttingDown: boolean };
  onShutdownStart(listener: () => void): () => void;
  releaseStatsServer(): Promise<void>;
  /** Opens the stats server again (a full reload failed after releasing it); the error if it cannot. */
  reclaimStatsServer(): Promise<Error | null>;
  handOver(keep: readonly OwnedSocket[]): void;
}

/**
 * Start the new process and hand it the sockets. Resolves true once it serves (this process's
 * sockets and cache2 stores are then the new one's: the caller retires this process), false when
 * it could not (the new process is stopped, this one keeps serving; the reason is logged).
 */
export async function handOverToSuccessor(server: HandOverHost, log: Log, parent: ParentLink | undefined, reason: string, outgoing: readonly Outgoing[]): Promise<boolean> {
  const settings = server.settings;
  const oldPid = process.pid;
  let child: SuccessorProcess;
  try {
    child = parent ? await parent.spawnSuccessor(reason) : spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      cwd: ORIGINAL_CWD,
      env: { ...ORIGINAL_ENV, [HANDOVER_ENV]: `${oldPid}:${reason}` },
      detached: true, // its own process group and session: it outlives this process
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
  } catch (err) {
    log.error({ event: 'FULL_RELOAD_SPAWN_FAILED', reason, err }, 'full reload failed: cannot start a new process; this process keeps serving');
    return false;
  }
  const newPid = child.pid ?? 0;
  log.info({ event: 'FULL_RELOAD_SPAWNED', reason, oldPid, newPid }, 'full reload: started a new process');

  const inbox: ToOldServer[] = [];
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let failure = '';
  let adoptedUrls: string[] | undefined;
  let wake: (() => void) | null = null;
  child.on('message', (m: ToOldServer) => {
    if (m && typeof m === 'object' && 'spindle' in m) {
      if (m.spindle === 'adopted' && Array.isArray(m.urls)) adoptedUrls = m.urls;
      if (m.spindle === 'failed') failure = m.reason;
      else inbox.push(m);
    }
    wake?.();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', (code, signal) => { exit = { code, signal }; wake?.(); resolve(); }));
  child.on('error', (err) => { failure ||= err.message; wake?.(); });
  const stopWatching = server.onShutdownStart(() => wake?.());
  const deadline = Date.now() + settings.processRecycle.timeoutMs;
  // Woken by the new process's messages and exit, by this process's shutdown, or at the deadline.
  const waitFor = async (what: ToOldServer['spindle']): Promise<string | null> => {
    for (;;) {
      const i = inbox.findIndex((m) => m.spindle === what);
      if (i >= 0) { inbox.splice(i, 1); return null; }
      if (exit) return `it exited (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}${exitMeaning(exit.code)}) before it was ${what}${failure ? `: ${failure}` : ''}`;
      if (failure) return `it failed before it was ${what}: ${failure}`;
      if (server.observation().shuttingDown) return 'this process began shutting down';
      if (Date.now() > deadline) return `it was not ${what} within full-reload-timeout (${settings.processRecycle.timeoutMs / 1000} s)`;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now() + 1).unref();
        wake = () => { clearTimeout(timer); resolve(); };
      });
      wake = null;
    }
  };
  let stage: 'starting' | 'adopting' | 'finishing' = 'starting';
  const give = (msg: ToNewServer, handle?: object): Promise<void> => new Promise((resolve, reject) => {
    if (!child.connected) { reject(new Error('the new process closed its channel')); return; }
    child.send(msg, handle as never, {}, (err) => (err ? reject(err) : resolve()));
  });

  let why: string | null = await waitFor('ready');
  if (!why) {
    try {
      stage = 'adopting';
      if (server.cacheStores.any) await server.cacheStores.saveAll('full reload');
      await give({ spindle: 'sockets', list: outgoing.map((o) => o.meta) });
      for (let i = 0; i < outgoing.length; i++) {
        // sending a raw handle leaves it open here: this process keeps serving until the new one does
        const handle = outgoing[i]!.handle;
        if (!handle) throw new Error(`listener ${outgoing[i]!.meta.url} has no handle`); // caught below: logged with the reload's outcome
        await give({ spindle: 'socket', index: i }, handle);
      }
    } catch (err) {
      why = `the sockets could not be handed over: ${(err as Error).message}`;
    }
  }
  why ??= await waitFor('adopted');
  if (!why) {
    stage = 'finishing';
    await server.releaseStatsServer();
    try { await give({ spindle: 'released' }); } catch (err) { why = (err as Error).message; }
  }
  why ??= await waitFor('serving');
  stopWatching();
  if (why) {
    await abandon(child, stage, exit !== null, exited, server.settings.mercyMs);
    let statsNote: string | undefined;
    if (stage === 'finishing') {
      rewritePidfile(server.settings.pidfile, parent, log);
      const err = settings.stats ? await server.reclaimStatsServer() : null;
      if (err) statsNote = `the stats server was released to the new process and could not be opened again: ${err.message}`;
    }
    if (server.observation().shuttingDown) {
      // the operator stopped the service: nothing failed, and this process is not going on
      log.warn({ event: 'FULL_RELOAD_CANCELLED', reason, oldPid, newPid }, 'full reload cancelled: this process is shutting down, and the new one was stopped');
      return false;
    }
    log.error({ event: 'FULL_RELOAD_FAILED',
      reason, oldPid, newPid, why, ...(exit ? { exitCode: (exit as { code: number | null }).code, exitSignal: (exit as { signal: string | null }).signal } : {}),
      ...(statsNote ? { note: statsNote } : {}),
    }, 'full reload failed: this process keeps serving (the new process\'s own log lines above say more)');
    return false;
  }

  // The new process serves: let it go, and what is its now.
  child.removeAllListeners('message');
  child.unref();
  if (child.connected) child.disconnect();
  server.cacheStores.stop(); // the store files belong to the new process now
  // a socket the new configuration dropped is not the new process's: closed and vacuumed here
  server.handOver(outgoing.filter((o) => !adoptedUrls || adoptedUrls.includes(o.meta.url)).map((o) => o.owned));
  log.info({ event: 'FULL_RELOAD_HANDED_OVER', reason, oldPid, newPid }, 'full reload: the new process is serving; this one stops accepting and drains');
  return true;
}

/** Stop a new process that did not take over: gracefully if it may hold connections, else kill. */
async function abandon(child: SuccessorProcess, stage: string, gone: boolean, exited: Promise<void>, mercyMs: number): Promise<void> {
  const pid = child.pid;
  if (!pid || gone) return;
  const group = (signal: NodeJS.Signals) => { try { process.kill(-pid, signal); } catch { /* gone */ } };
  if (stage !== 'starting') {
    // it may be accepting on the shared sockets already: let it finish what it accepted
    group('SIGTERM');
    await within(exited, mercyMs + 5000);
  }
  group('SIGKILL');
  await within(exited, 5000);
  if (child.connected) child.disconnect();
}

/** Waits for `done`, at most `ms`. */
async function within(done: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
  clearTimeout(timer);
}

function rewritePidfile(path: string | undefined, parent: ParentLink | undefined, log: Log): void {
  if (!path || parent) return; // under the parent, the pidfile always names the parent
  try {
    writePidfile(path);
  } catch (err) {
    log.error({ event: 'FULL_RELOAD_PIDFILE_FAILED', path, err }, 'full reload: cannot rewrite the pidfile');
  }
}

function exitMeaning(code: number | null): string {
  if (code === 1) return ': configuration error';
  if (code === 22) return ': the app could not be loaded';
  return '';
}
