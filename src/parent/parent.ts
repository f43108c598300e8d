// The supervising parent (option `supervise`, on by default for the `spindle` command).
//
// The server is one process: a segfault in a native addon, process.abort() in any thread or the
// kernel's OOM killer ends the master and every worker at once. This small process sits above it,
// runs the server as its child and holds a descriptor of every listening socket (the server sends
// them once it serves), so when the server dies abnormally the sockets stay open: connections
// queue in the kernel instead of being refused, and a new server started at once takes the
// descriptors over through the full-reload handover (src/protocol/handover.ts), with this process
// in the old process's role. It also forwards signals, relays a full reload between the old
// server and its successor (both its children, so it keeps supervising whichever serves), and
// exits with the server's status when the server stops. The pidfile names this process.
//
// It loads no app, no pino, no master code: a crash of the server cannot take it along.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { constants } from 'node:os';
import { parentLog, type ParentLog } from './log.js';
import { SUPERVISED_ENV, isParentMessage, type ParentToServer, type ServerToParent } from '../protocol/parent.js';
import { HANDOVER_ENV, type SocketMeta, type ToNewServer } from '../protocol/handover.js';

export interface ParentOptions {
  /** The command line of `spindle` (without the program), given to every server process. */
  argv: string[];
  logLevel: string;
  /** log-format as configured (json, pretty, auto) */
  logFormat: string;
  logto: string | undefined;
  /** SIGTERM stops the server (die-on-term); otherwise it reloads it and the parent stays. */
  dieOnTerm: boolean;
}

/** The spindle command (dist/src/parent/ → bin/), run again as the server process. */
const BIN = join(fileURLToPath(new URL('../../../', import.meta.url)), 'bin', 'spindle.js');
/**
 * The signals the server handles, passed on to it; the first three (SIGTERM per die-on-term) stop
 * it. Not others: a signal the server has no handler for would stop or kill it (SIGTTIN stops).
 */
const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'];
/** Crash loop: the first crash restarts at once, each further one waits twice as long. */
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A server that served this long ends a crash streak. */
const STABLE_MS = 10_000;
/** How much of a server's stderr is kept to report its last words. */
const TAIL_BYTES = 4096;
const TAIL_LINES = 20;

type Role = 'first' | 'restart' | 'successor';
interface Server {
  child: ChildProcess;
  pid: number;
  role: Role;
  startedAt: number;
  servedAt?: number;
  exited?: boolean;
  tail: string;
  stderrDone: Promise<void>;
  /** successor: the old server it is taking over from (the handover is relayed between them) */
  relayFrom?: Server;
  /** old server: its successor, while the handover runs */
  successor?: Server;
  /** 'hold' announced this many sockets; their handles are arriving */
  incoming?: { list: SocketMeta[]; handles: object[] };
}

interface RawHandle { close?: () => void }

export function runParent(opts: ParentOptions): Promise<number> {
  return new Promise((finish) => new Parent(opts, parentLog(opts.logLevel, opts.logFormat, opts.logto), finish).start());
}

class Parent {
  private current: Server | null = null;
  private held: { list: SocketMeta[]; handles: RawHandle[] } | null = null;
  private everServed = false;
  private stopping = false;
  private crashes = 0;
  private crashedAt = 0;
  private restartTimer?: NodeJS.Timeout;

  constructor(private readonly opts: ParentOptions, private readonly log: ParentLog, private readonly finish: (code: number) => void) {}

  start(): void {
    for (const sig of FORWARDED) process.on(sig, () => this.onSignal(sig));
    this.current = this.spawnServer('first', {});
  }

  private spawnServer(role: Role, env: Record<string, string>, relayFrom?: Server): Server | null {
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...process.execArgv, BIN, ...this.opts.argv], {
        env: { ...process.env, ...env, [SUPERVISED_ENV]: String(process.pid) },
        // stderr passes through here, so the last words of a crashed server can be logged
        stdio: ['inherit', 'inherit', 'pipe', 'ipc'],
        // its own process group: a terminal's ^C reaches the parent only, which forwards it once
        detached: true,
      });
    } catch (err) {
      this.log('error', { event: 'SERVER_SPAWN_FAILED', role, err: (err as Error).message }, 'cannot start the server process');
      return null;
    }
    const s: Server = { child, pid: child.pid ?? 0, role, startedAt: Date.now(), tail: '', stderrDone: Promise.resolve(), relayFrom };
    s.stderrDone = new Promise((resolve) => {
      child.stderr!.on('data', (d: Buffer) => {
        process.stderr.write(d);
        s.tail = (s.tail + d.toString('utf8')).slice(-TAIL_BYTES);
      });
      child.stderr!.once('end', resolve);
      child.stderr!.once('error', () => resolve());
    });
    child.on('message', (m: unknown, handle?: object) => this.onMessage(s, m, handle));
    child.on('error', (err) => {
      this.log('error', { event: 'SERVER_SPAWN_FAILED', role, err: err.message }, 'the server process could not be started');
      if (!s.pid) void this.onExit(s, 1, null); // never ran: no 'exit' to wait for
    });
    child.on('exit', (code, signal) => void this.onExit(s, code, signal));
    this.log('debug', { event: 'SERVER_STARTED', serverPid: s.pid, role }, 'server process started');
    return s;
  }

  // ---- messages ------------------------------------------------------------------------------

  private onMessage(s: Server, m: unknown, handle?: object): void {
    if (isParentMessage(m)) return this.onParentMessage(s, m as ServerToParent, handle);
    if (typeof m !== 'object' || m === null || !('spindle' in m)) return;
    const what = (m as { spindle: string }).spindle;
    if (s.relayFrom) {
      // a full reload: the successor talks to the old server through here
      this.send(s.relayFrom, { spindleParent: 'from-successor', msg: m });
      if (what === 'serving') this.promote(s);
      return;
    }
    if (s.role !== 'restart') return;
    // a restart after a crash: this process plays the old server's part of the handover
    if (what === 'ready') {
      const held = this.held!;
      s.child.send({ spindle: 'sockets', list: held.list } satisfies ToNewServer);
      held.handles.forEach((h, index) => s.child.send({ spindle: 'socket', index } satisfies ToNewServer, h as never));
    } else if (what === 'adopted') {
      s.child.send({ spindle: 'released' } satisfies ToNewServer);
    } else if (what === 'serving') {
      this.promote(s);
      this.log('info', { event: 'SERVER_RESTARTED', serverPid: s.pid, downMs: Date.now() - this.crashedAt, crashes: this.crashes }, 'the new server process serves on the same sockets');
    } else if (what === 'failed') {
      this.log('error', { event: 'SERVER_RESTART_FAILED', serverPid: s.pid, reason: (m as { reason?: string }).reason }, 'the new server process could not start');
    }
  }

  private onParentMessage(s: Server, m: ServerToParent, handle?: object): void {
    switch (m.spindleParent) {
      case 'hold':
        s.incoming = { list: m.list, handles: [] };
        if (m.list.length === 0) this.hold(s);
        return;
      case 'hold-socket':
        if (!s.incoming || !handle) return;
        s.incoming.handles[m.index] = handle;
        if (s.incoming.handles.filter(Boolean).length === s.incoming.list.length) this.hold(s);
        return;
      case 'spawn-successor': {
        if (s !== this.current || s.successor || this.stopping) {
          this.send(s, { spindleParent: 'successor-failed', error: this.stopping ? 'the service is stopping' : 'a full reload is already running' });
          return;
        }
        const next = this.spawnServer('successor', { [HANDOVER_ENV]: `${s.pid}:${m.reason}` }, s);
        if (!next) { this.send(s, { spindleParent: 'successor-failed', error: 'spawn failed' }); return; }
        s.successor = next;
        this.send(s, { spindleParent: 'successor-spawned', pid: next.pid });
        return;
      }
      case 'copy':
        // echoed: the handle arrives as a new descriptor there (this one is closed once sent)
        if (handle) s.child.send({ spindleParent: 'copied', seq: m.seq } satisfies ParentToServer, handle as never, () => (handle as RawHandle).close?.());
        return;
      case 'to-successor': {
        // a socket handle passes through here as a descriptor of this process's own: closed once sent on
        const done = () => (handle as RawHandle | undefined)?.close?.();
        if (s.successor?.child.connected) s.successor.child.send(m.msg as object, handle as never, done);
        else done();
        return;
      }
      case 'detach-successor':
        if (s.successor) s.successor.relayFrom = undefined;
        s.successor = undefined;
        return;
    }
  }

  private send(s: Server, m: ParentToServer): void {
    if (s.child.connected) s.child.send(m);
  }

  /** This server's sockets replace the ones held so far (a full reload may have changed them). */
  private hold(s: Server): void {
    const incoming = s.incoming!;
    s.incoming = undefined;
    if (this.stopping || s !== this.current) {
      for (const h of incoming.handles as RawHandle[]) h.close?.();
      return;
    }
    // the server sends its sockets once it serves: from now on a death is a crash to recover from
    s.servedAt ??= Date.now();
    this.everServed = true;
    this.releaseHeld();
    this.held = { list: incoming.list, handles: incoming.handles as RawHandle[] };
    this.log('info', { event: 'SOCKETS_HELD', serverPid: s.pid, sockets: incoming.list.map((x) => x.url) }, 'supervising: the parent holds the listening sockets and restarts the server process if it dies');
  }

  private releaseHeld(): void {
    for (const h of this.held?.handles ?? []) h.close?.();
    this.held = null;
  }

  /** `s` serves: it is the server now (a successor's old server retires by itself). */
  private promote(s: Server): void {
    s.servedAt = Date.now();
    s.relayFrom = undefined;
    this.current = s;
    this.everServed = true;
  }

  // ---- exits ---------------------------------------------------------------------------------

  private async onExit(s: Server, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (s.exited) return;
    s.exited = true;
    if (s.relayFrom) {
      // a successor that never served: its old server logs the failed reload and keeps serving
      const old = s.relayFrom;
      if (old.successor === s) old.successor = undefined;
      this.send(old, { spindleParent: 'successor-exit', code, signal });
      return;
    }
    if (s !== this.current) {
      this.log('debug', { event: 'SERVER_RETIRED', serverPid: s.pid, exitCode: code, signal }, 'the previous server process exited after a full reload');
      return;
    }
    this.current = null;
    if (s.successor) { // died in the middle of a full reload: the successor cannot finish without it
      try { process.kill(-s.successor.pid, 'SIGKILL'); } catch { /* gone */ }
      s.successor = undefined;
    }
    const status = code ?? 128 + (signal ? constants.signals[signal] ?? 0 : 0);
    if (this.stopping || code === 0 || !this.everServed) {
      // stopped, or could not start the first time (configuration, bind, app): nothing to restart into
      this.log('debug', { event: 'PARENT_EXIT', serverPid: s.pid, exitCode: code, signal, status }, 'the server process exited; the parent exits with its status');
      return this.exit(status);
    }
    await Promise.race([s.stderrDone, new Promise((r) => setTimeout(r, 100))]);
    const now = Date.now();
    if (s.servedAt && now - s.servedAt >= STABLE_MS) this.crashes = 0;
    this.crashes++;
    if (this.crashes === 1) this.crashedAt = now;
    const lastWords = s.tail.trimEnd().split('\n').slice(-TAIL_LINES).filter(Boolean);
    this.log('error', {
      event: 'SERVER_CRASHED', serverPid: s.pid, signal, exitCode: code, livedMs: now - s.startedAt,
      served: Boolean(s.servedAt), crashes: this.crashes, ...(lastWords.length ? { lastWords } : {}),
    }, `the server process died (${signal ?? `exit code ${code}`}); starting a new one on the same sockets`);
    const delayMs = this.crashes <= 1 ? 0 : Math.min(BACKOFF_FIRST_MS * 2 ** (this.crashes - 2), BACKOFF_MAX_MS);
    if (delayMs === 0) return this.restart();
    this.log('warn', { event: 'SERVER_RESTART_BACKOFF', delayMs, crashes: this.crashes }, `crash loop: waiting ${delayMs} ms before the next start`);
    this.restartTimer = setTimeout(() => this.restart(), delayMs);
  }

  private restart(): void {
    this.restartTimer = undefined;
    if (this.stopping) return;
    // without sockets (it died before handing them over) the new server binds them itself
    this.current = this.held
      ? this.spawnServer('restart', { [HANDOVER_ENV]: `${process.pid}:restart after a crash` })
      : this.spawnServer('first', {});
    if (!this.current) this.restartTimer = setTimeout(() => this.restart(), BACKOFF_MAX_MS);
  }

  // ---- signals -------------------------------------------------------------------------------

  private onSignal(sig: NodeJS.Signals): void {
    const stops = sig === 'SIGINT' || sig === 'SIGQUIT' || (sig === 'SIGTERM' && this.opts.dieOnTerm);
    if (stops && !this.stopping) {
      this.stopping = true;
      // from now on a connection is refused rather than queued for a server that will not come
      this.releaseHeld();
    }
    const s = this.current;
    if (!s) {
      if (stops) {
        clearTimeout(this.restartTimer);
        this.log('info', { event: 'PARENT_EXIT', signal: sig }, 'stop requested while no server process runs (crash loop back-off): exiting');
        this.exit(0);
      } else {
        this.log('warn', { event: 'SIGNAL_DROPPED', signal: sig }, 'no server process runs (crash loop back-off): signal not forwarded');
      }
      return;
    }
    try { s.child.kill(sig); } catch { /* it is exiting: its exit is handled */ }
  }

  private exit(status: number): void {
    this.releaseHeld();
    this.finish(status);
    // nothing else to wait for: a server process still draining after a full reload has its own life
    process.exit(status);
  }
}
