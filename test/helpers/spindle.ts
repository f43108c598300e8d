// Runs the real `spindle` CLI for integration tests: ephemeral ports, JSON log lines parsed as
// they arrive, polling with deadlines, and a cleanup that never leaves a process behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request as httpRequest, Agent } from 'node:http';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import type { LogEvent } from '../../src/log/events.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = `${ROOT}bin/spindle.js`;
export const fixture = (rel: string): string => `${ROOT}test/fixtures/${rel}`;

/** A log line; its `event` is typed, so a test that matches a misspelt code does not compile. */
export type LogLine = Record<string, unknown> & { event?: LogEvent; msg?: string; level?: string };

export interface Running {
  /** The `spindle` command: the supervising parent (the default), or the server itself with supervise = false. */
  proc: ChildProcess;
  /** The server process (the pid of its 'spindle is serving' line): a child of `proc` under the parent. */
  serverPid: number;
  /** First listening address, e.g. http://127.0.0.1:40123 */
  url: string;
  addresses: string[];
  lines: LogLine[];
  stderr: () => string;
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => { for (const p of running) p.kill('SIGKILL'); });

/** Starts `spindle ARGS` (`bin`: another copy's bin/spindle.js) and waits for 'spindle is serving' (or the process to exit). */
export async function startSpindle(args: string[], opts: { env?: Record<string, string>; cwd?: string; expectExit?: boolean; timeoutMs?: number; maxFiles?: number; bin?: string; wrapper?: string[] } = {}): Promise<Running> {
  const argv = [opts.bin ?? BIN, ...args, '--log-format', 'json'];
  // maxFiles: under `ulimit -n` (bash execs node, so proc.pid is spindle's)
  const node = opts.maxFiles === undefined ? [process.execPath, ...argv]
    : ['bash', '-c', `ulimit -n ${opts.maxFiles} && exec "$0" "$@"`, process.execPath, ...argv];
  // wrapper: a command that runs spindle, e.g. ['unshare', …] (proc is then the wrapper)
  const command = [...(opts.wrapper ?? []), ...node];
  const proc = spawn(command[0]!, command.slice(1), {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  const lines: LogLine[] = [];
  let err = '';
  let buf = '';
  const waiters = new Set<() => void>();
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try { lines.push(JSON.parse(line) as LogLine); } catch { lines.push({ msg: line, raw: true }); }
    }
    for (const w of waiters) w();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; for (const w of waiters) w(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      running.delete(proc);
      // Its last lines may still be in the pipe: wait for stdout to end (bounded, since processes
      // it started for a full reload share the pipe and may keep it open).
      const done = () => { clearTimeout(t); for (const w of waiters) w(); resolve({ code, signal }); };
      const t = setTimeout(done, 2000);
      if (proc.stdout!.readableEnded) done(); else proc.stdout!.once('end', done);
    });
  });
  let exitedNow = false;
  void exited.then(() => { exitedNow = true; });

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 15000, what = 'log line'): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = lines.find(pred);
        if (hit) { cleanup(); resolve(hit); return true; }
        if (exitedNow) { cleanup(); reject(new Error(`spindle exited before ${what}\nstdout:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${err}`)); return true; }
        return false;
      };
      const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out waiting for ${what}\nstdout:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${err}`)); }, timeoutMs);
      const cleanup = () => { clearTimeout(timer); waiters.delete(w); };
      const w = () => { check(); };
      if (!check()) waiters.add(w);
    });

  const stop = async (signal: NodeJS.Signals = 'SIGINT') => {
    if (!exitedNow) proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20000);
    const r = await exited;
    clearTimeout(timer);
    return r;
  };

  const r: Running = { proc, serverPid: 0, url: '', addresses: [], lines, stderr: () => err, waitForLog, exited, stop };
  if (opts.expectExit) return r;
  try {
    const serving = await waitForLog((l) => l.event === 'SERVING', opts.timeoutMs ?? 20000, "'spindle is serving'");
    r.addresses = serving.addresses as string[];
    r.serverPid = serving.pid as number;
    r.url = r.addresses.find((a) => a.startsWith('http://')) ?? '';
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  return r;
}

export interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** One HTTP request with node:http (no pooling unless an agent is given). */
export function get(url: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string; agent?: Agent; socketPath?: string; timeoutMs?: number } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = httpRequest({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? 'GET',
      headers: opts.headers, agent: opts.agent ?? false, socketPath: opts.socketPath,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 30000, () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Sends raw bytes and returns everything the server sends back until it closes (or timeout). */
export function raw(url: string, data: string | Buffer, timeoutMs = 10000): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect({ host: u.hostname, port: Number(u.port) });
    let out = '';
    const timer = setTimeout(() => { sock.destroy(); resolve(out); }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => { out += d; });
    sock.on('close', () => { clearTimeout(timer); resolve(out); });
    sock.on('error', (e) => { clearTimeout(timer); if (out) resolve(out); else reject(e); });
    sock.write(data);
  });
}

/** Polls `fn` until it returns a truthy value or the deadline passes. */
type Maybe<T> = T | null | undefined | false;
export async function until<T>(fn: () => Maybe<T> | Promise<Maybe<T>>, timeoutMs = 10000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One raw stats connection (tcp://host:port): the server writes the document and closes. */
export function rawStats(addr: string): Promise<string> {
  const u = new URL(addr.replace(/^tcp:/, 'http:'));
  return new Promise((resolve, reject) => {
    const c = connect({ host: u.hostname, port: Number(u.port) });
    let out = '';
    c.setEncoding('utf8');
    c.setTimeout(10000, () => c.destroy(new Error('no stats document within 10 s')));
    c.on('data', (d: string) => { out += d; });
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
}

/** Alive and not a zombie (an exited process whose parent has not reaped it yet). */
export function alive(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Connects over and over until stopped; counts refusals (nothing else is measured). */
export function prober(target: { port: number } | { path: string }): { stop: () => Promise<{ ok: number; refused: string[] }> } {
  let running = true;
  let ok = 0;
  const refused: string[] = [];
  const loop = (async () => {
    while (running) {
      await new Promise<void>((resolve) => {
        const sock = 'port' in target ? connect({ host: '127.0.0.1', port: target.port }) : connect({ path: target.path });
        sock.once('connect', () => { ok++; sock.destroy(); resolve(); });
        sock.once('error', (e: NodeJS.ErrnoException) => { refused.push(e.code ?? e.message); resolve(); });
      });
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return { stop: async () => { running = false; await loop; return { ok, refused }; } };
}
