// `spindle top [ADDR] [--http] [--frequency S]`: a live view of a running server in the spirit of
// uwsgitop. One row per worker slot: id, share of requests, requests, RPS, exceptions, status,
// label, average response time, heap, respawns, harakiri count, last spawn; a header with the
// totals, backlog, latency percentiles and uptime. q or Ctrl-C quits and restores the terminal.
// It also reads a uWSGI stats server (the Spindle-only columns then show '-').
import { EXIT } from '../errors.js';
import { processIO, takeFlags, type CliIO } from './io.js';
import { fetchStats, resolveTarget, type StatsTarget } from './stats.js';

type Doc = Record<string, unknown>;
type Worker = Record<string, unknown>;

const ESC = '\x1b[';
const COLOURS: Record<string, string> = { busy: '32', cheap: '35', pause: '34', starting: '36', zombie: '31', dead: '31' };

/** Terminal-safe text: control characters shown escaped, never interpreted. */
const safe = (v: unknown): string => String(v).replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : '?'));
const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function human(bytes: number): string {
  if (!bytes) return '0';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)}${units[i]}`;
}

export function duration(s: number): string {
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d${h}h${String(m).padStart(2, '0')}m`;
  if (h) return `${h}h${String(m).padStart(2, '0')}m`;
  return `${m}m${String(s % 60).padStart(2, '0')}s`;
}

const clock = (epochS: number): string => (epochS > 0 ? new Date(epochS * 1000).toTimeString().slice(0, 8) : '-');
const ms = (us: number): string => `${(us / 1000).toFixed(us >= 100_000 ? 0 : 1)}ms`;

interface Previous { at: number; total: number; perWorker: Map<number, number> }

/** One screen as lines (no trailing newline), `width` columns at most. */
export function renderTop(doc: Doc, prev: Previous | null, now: number, width: number, colour: boolean): { lines: string[]; state: Previous } {
  const workers = (Array.isArray(doc.workers) ? doc.workers : []) as Worker[];
  const total = workers.reduce((a, w) => a + n(w.requests), 0);
  const elapsed = prev ? (now - prev.at) / 1000 : 0;
  const rps = (cur: number, before: number | undefined) => (elapsed > 0 && before !== undefined ? Math.max(0, cur - before) / elapsed : 0);
  const totalRps = prev ? rps(total, prev.total) : 0;
  const tx = workers.reduce((a, w) => a + n(w.tx), 0);
  const ready = workers.filter((w) => n(w.accepting) === 1).length;
  const lat = doc.latency as { p50?: number; p99?: number } | undefined;
  const server = typeof doc.server === 'string' ? doc.server : 'uwsgi';
  const head = [
    `${safe(server)} ${safe(doc.version ?? '?')}`,
    new Date(now).toTimeString().slice(0, 8),
    `req: ${total}`,
    `RPS: ${totalRps.toFixed(1)}`,
    `backlog: ${n(doc.listen_queue)}${doc.max_queue !== undefined ? `/${n(doc.max_queue)}` : ''}`,
    `accepting: ${ready}/${workers.length}`,
    `tx: ${human(tx)}`,
    ...(lat ? [`p50 ${ms(n(lat.p50))} p99 ${ms(n(lat.p99))}`] : []),
    ...(doc.uptime !== undefined ? [`up ${duration(n(doc.uptime))}`] : []),
  ].join(' - ');
  const second = [
    `pid: ${n(doc.pid)}`,
    `cwd: ${safe(doc.cwd ?? '')}`,
    `uid: ${n(doc.uid)}`,
    `gid: ${n(doc.gid)}`,
    ...(doc.respawns !== undefined ? [`respawns: ${n(doc.respawns)}`] : []),
    ...(doc.harakiri !== undefined ? [`harakiri: ${n(doc.harakiri)}`] : []),
    ...(doc.shutting_down ? ['SHUTTING DOWN'] : []),
  ].join(' - ');

  const cols: [string, number, 'l' | 'r'][] = [
    ['WID', 4, 'r'], ['%', 6, 'r'], ['REQ', 9, 'r'], ['RPS', 8, 'r'], ['EXC', 5, 'r'], ['STATUS', 10, 'l'],
    ['AVG', 9, 'r'], ['HEAP', 7, 'r'], ['RESPWN', 6, 'r'], ['HC', 4, 'r'], ['LASTSPWN', 9, 'r'], ['LABEL', 0, 'l'],
  ];
  const cell = (text: string, [, w, align]: [string, number, 'l' | 'r']) => (w === 0 ? text : align === 'r' ? text.padStart(w) : text.padEnd(w));
  const row = (cells: string[]) => cells.map((c, i) => cell(c, cols[i]!)).join(' ');
  const out = [head, second, '', row(cols.map((c) => c[0]))];
  const perWorker = new Map<number, number>();
  for (const w of workers) {
    const id = n(w.id);
    const req = n(w.requests);
    perWorker.set(id, req);
    const status = safe(w.status ?? '?');
    const share = total > 0 ? ((req / total) * 100).toFixed(1) : '0.0';
    const cells = [
      String(id), share, String(req), rps(req, prev?.perWorker.get(id)).toFixed(1), String(n(w.exceptions)), status,
      ms(n(w.avg_rt)), w.heap_used !== undefined ? human(n(w.heap_used)) : '-', String(n(w.respawn_count)),
      String(n(w.harakiri_count)), clock(n(w.last_spawn)), typeof w.label === 'string' && w.label ? safe(w.label) : '-',
    ];
    let line = row(cells);
    if (line.length > width) line = line.slice(0, width);
    const code = status.startsWith('sig') ? '33' : COLOURS[status];
    if (colour && code) {
      // colour the status cell only
      const at = cols.slice(0, 5).reduce((a, c) => a + c[1] + 1, 0);
      line = `${line.slice(0, at)}${ESC}${code}m${line.slice(at, at + 10)}${ESC}0m${line.slice(at + 10)}`;
    }
    out.push(line);
  }
  out.push('', 'q: quit');
  return {
    lines: out.map((l) => (l.includes('\x1b') ? l : l.slice(0, width))),
    state: { at: now, total, perWorker },
  };
}

export async function runTop(argv: string[], io: CliIO = processIO): Promise<number> {
  const { rest: afterFlags, found } = takeFlags(argv, ['--http', '--help', '-h']);
  if (found.has('--help') || found.has('-h')) {
    io.out(`usage: spindle top [ADDR | http://HOST:PORT] [--http] [--frequency SECONDS]
       spindle top --ini FILE          (ADDR from the config's stats / stats-http)
A live view of the workers of a running server, refreshed every second. q or Ctrl-C quits.
`);
    return EXIT.OK;
  }
  let frequency = 1;
  const rest: string[] = [];
  for (let i = 0; i < afterFlags.length; i++) {
    const a = afterFlags[i]!;
    if (a === '--frequency' || a.startsWith('--frequency=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : afterFlags[++i];
      frequency = Number(v);
      if (!(frequency >= 0.1 && frequency <= 3600)) {
        io.err(`spindle top: --frequency ${String(v)}: give seconds between 0.1 and 3600\n`);
        return EXIT.CONFIG;
      }
    } else rest.push(a);
  }
  const r = resolveTarget(rest, found.has('--http'));
  if (!r.target) {
    io.err(`spindle top: ${r.error}\n`);
    return EXIT.CONFIG;
  }
  return live(r.target, frequency * 1000);
}

function live(target: StatsTarget, everyMs: number): Promise<number> {
  const out = process.stdout;
  const tty = Boolean(out.isTTY);
  const stdin = process.stdin;
  return new Promise<number>((resolve) => {
    let prev: Previous | null = null;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const write = (s: string) => { out.write(s); };
    const finish = () => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      stdin.off('data', onKey);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      for (const s of SIGNALS) process.off(s, finish);
      if (tty) write(`${ESC}0m${ESC}?25h${ESC}?1049l`); // reset colours, show the cursor, leave the alternate screen
      resolve(EXIT.OK);
    };
    const onKey = (d: Buffer | string) => {
      const s = d.toString();
      if (s.includes('q') || s.includes('Q') || s.includes('\x03') || s.includes('\x04')) finish();
    };
    const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const s of SIGNALS) process.on(s, finish);
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', onKey);
    stdin.resume();
    if (tty) write(`${ESC}?1049h${ESC}?25l`); // alternate screen, hide the cursor

    const frame = async () => {
      let lines: string[];
      const width = tty ? out.columns || 120 : 200;
      try {
        const doc = await fetchStats(target, Math.max(2000, everyMs));
        const r = renderTop(doc, prev, Date.now(), width, tty);
        prev = r.state;
        lines = r.lines;
      } catch (err) {
        lines = [`spindle top: cannot read the stats from ${target.label}: ${(err as Error).message}`, '', 'retrying every second; q: quit'];
      }
      if (done) return;
      write(tty ? `${ESC}H${ESC}2J${lines.join('\r\n')}` : `${lines.join('\n')}\n\n`);
      timer = setTimeout(() => { void frame(); }, everyMs);
    };
    void frame();
  });
}
