// Aggregation (medians of per-round ratios), markdown report and a dependency-free SVG bar chart.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, sum } from './stats.mjs';
import { SETUPS } from './setups.mjs';
import { WORKLOADS } from './workloads.mjs';

const SPINDLE = 'spindle';

/** Reports written by the other bench scripts, embedded so RESULTS.md holds every figure. */
const COMPANION_REPORTS = [
  ['ANALYSIS.md', 'Where the targets stand, and what the profiles show'],
  ['LIFECYCLE.md', 'Lifecycle under load'],
  ['FULL-RELOAD.md', 'Full reload'],
  ['MICRO.md', 'Micro-benchmarks'],
  ['CHEAPER.md', 'Cheaper ramp'],
  ['shm/RESULTS.md', 'Shared memory'],
  ['RPC-COMLINK.md', 'Request/response between threads: hand-written RPC vs comlink'],
];

/** A companion report with its headings pushed one level down (its title dropped). */
function readCompanion(file) {
  const at = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', file);
  if (!existsSync(at)) return null;
  const lines = readFileSync(at, 'utf8').trim().split('\n');
  if (/^#{1,2} /.test(lines[0] ?? '')) lines.shift();
  return lines.map((l) => (/^#{1,4} /.test(l) ? `#${l}` : l)).join('\n').trim();
}

export function summarize(run) {
  const { rows, baseline } = run;
  const by = new Map();
  const k = (...a) => a.join('|');
  for (const r of rows) by.set(k(r.round, r.workload, r.connections, r.setup), r);
  const cases = [];
  for (const workload of run.workloads) {
    for (const connections of run.opts.connections) {
      const entries = [];
      for (const setup of run.setups) {
        const rs = rows.filter((r) => r.workload === workload && r.connections === connections && r.setup === setup);
        const e = { setup, n: rs.length };
        if (run.skipped[setup]) { e.status = 'skipped'; e.note = `${run.skipped[setup].reason}; install: ${run.skipped[setup].install}`; }
        else if (!rs.length && run.failed[`${setup}|${workload}`]) { e.status = 'failed'; e.note = run.failed[`${setup}|${workload}`]; }
        else if (!rs.length) { e.status = 'missing'; e.note = 'no measurement'; }
        else {
          e.status = 'ok';
          const ratios = rs.map((r) => {
            const b = by.get(k(r.round, workload, connections, baseline));
            return b && b.rps > 0 ? r.rps / b.rps : NaN;
          });
          Object.assign(e, {
            rps: median(rs.map((r) => r.rps)), ratio: median(ratios), p50: median(rs.map((r) => r.p50)),
            p99: median(rs.map((r) => r.p99)), timeouts: sum(rs.map((r) => r.timeouts)),
            socketErrors: sum(rs.map((r) => r.socketErrors)), non2xx: sum(rs.map((r) => r.non2xx)),
            opened: median(rs.map((r) => r.opened)),
            requests: sum(rs.map((r) => r.requests)), cpuMsPerReq: median(rs.map((r) => r.cpuMsPerReq)),
            rssMiB: median(rs.map((r) => r.rssMiB)), died: rs.map((r) => r.died).filter(Boolean),
          });
          if (run.failed[`${setup}|${workload}`]) e.note = `failed to start in a later round: ${run.failed[`${setup}|${workload}`]}`;
        }
        entries.push(e);
      }
      cases.push({ workload, connections, entries });
    }
  }
  // hang1pct against hello, per setup, same round and connection count
  const hangVsHello = {};
  if (run.workloads.includes('hang1pct') && run.workloads.includes('hello')) {
    for (const setup of run.setups) {
      for (const connections of run.opts.connections) {
        const ratios = rows.filter((r) => r.setup === setup && r.workload === 'hang1pct' && r.connections === connections).map((r) => {
          const h = by.get(k(r.round, 'hello', connections, setup));
          return h && h.rps > 0 ? r.rps / h.rps : NaN;
        });
        if (ratios.length) (hangVsHello[setup] ??= {})[connections] = median(ratios);
      }
    }
  }
  const summary = { cases, hangVsHello };
  summary.targets = targets(summary, run);
  return summary;
}

const entry = (summary, workload, connections, setup) =>
  summary.cases.find((c) => c.workload === workload && c.connections === connections)?.entries.find((e) => e.setup === setup);

function whyNot(run, setup, workload) {
  if (!run.setups.includes(setup)) return `${setup} not in this run (--setups)`;
  if (!run.workloads.includes(workload)) return `${workload} not in this run (--workloads)`;
  if (run.skipped[setup]) return `${setup} skipped: ${run.skipped[setup].reason}`;
  const f = run.failed[`${setup}|${workload}`];
  if (f) {
    const lines = f.split('\n').map((l) => l.trim()).filter(Boolean);
    const tail = lines.slice(1).find((l) => !/^at /.test(l)) ?? '';
    return `${setup}: failed to start: ${lines[0].replace(/; output tail:$/, '')}${tail ? ` — ${tail}` : ''}`.slice(0, 300);
  }
  return 'no measurement';
}

const fx = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

function targets(summary, run) {
  const out = [];
  const others = (workload, connections, f, who) => run.setups.filter((s) => s !== who).map((s) => {
    const e = entry(summary, workload, connections, s);
    return e?.status === 'ok' ? `${s} ${f(e, s)}` : null;
  }).filter(Boolean).join(', ');
  // The default setup, and the fetch-handler one when it was run.
  const spindles = [SPINDLE, 'spindle-fetch'].filter((s, i) => i === 0 || run.setups.includes(s));
  for (const who of spindles) for (const c of run.opts.connections) {
    const name = who === SPINDLE ? 'Spindle' : who;
    {
      const e = entry(summary, 'hello', c, who);
      const t = { target: `hello world, ${c} conn: ${name} ≥ 1.0× node:http single-thread` };
      if (e?.status === 'ok') {
        t.value = `${fx(e.ratio)}×`;
        t.status = e.ratio >= 1.0 ? 'met' : `missed by ${fx(1.0 - e.ratio)}× (${fx((1 - e.ratio) * 100, 0)} %)`;
      } else { t.value = '—'; t.status = `not measured: ${whyNot(run, who, 'hello')}`; }
      t.reference = others('hello', c, (x) => `${fx(x.ratio)}×`, who);
      out.push(t);
    }
    {
      const e = entry(summary, 'cpu2ms', c, who);
      const t = { target: `2 ms CPU, ${c} conn: ${name} ≥ 1.9× single-thread, zero timeouts` };
      if (e?.status === 'ok') {
        t.value = `${fx(e.ratio)}×, ${e.timeouts} timeouts`;
        const miss = [];
        if (!(e.ratio >= 1.9)) miss.push(`ratio short by ${fx(1.9 - e.ratio)}×`);
        if (e.timeouts > 0) miss.push(`${e.timeouts} timeouts`);
        t.status = miss.length ? `missed: ${miss.join('; ')}` : 'met';
      } else { t.value = '—'; t.status = `not measured: ${whyNot(run, who, 'cpu2ms')}`; }
      t.reference = others('cpu2ms', c, (x) => `${fx(x.ratio)}× / ${x.timeouts} to`, who);
      out.push(t);
    }
    {
      const e = entry(summary, 'hang1pct', c, who);
      const r = summary.hangVsHello[who]?.[c];
      const t = { target: `1 % hanging, ${c} conn: ${name} ≥ 0.9× its own hello throughput; hung requests answered (504), no client timeouts` };
      if (e?.status === 'ok' && Number.isFinite(r)) {
        const expectHung = Math.floor(e.requests / 100);
        t.value = `${fx(r)}× of hello; ${e.non2xx} non-2xx (≈${expectHung} hung expected), ${e.timeouts} timeouts`;
        const miss = [];
        if (!(r >= 0.9)) miss.push(`throughput short by ${fx(0.9 - r)}×`);
        if (e.timeouts > 0) miss.push(`${e.timeouts} client timeouts`);
        t.status = (miss.length ? `missed: ${miss.join('; ')}` : 'met') + ' (the 504-within-harakiri+0.2 s part: bench/lifecycle.mjs)';
      } else { t.value = '—'; t.status = `not measured: ${!run.workloads.includes('hello') ? 'needs the hello workload in the same run' : whyNot(run, who, 'hang1pct')}`; }
      t.reference = run.setups.filter((s) => s !== who && summary.hangVsHello[s]?.[c] !== undefined)
        .map((s) => `${s} ${fx(summary.hangVsHello[s][c])}×`).join(', ');
      out.push(t);
    }
  }
  out.push({ target: 'recycling, reload, shutdown under load: zero failed requests', value: 'see below', status: 'measured by bench/lifecycle.mjs and the full-reload test: "Lifecycle under load" and "Full reload" below', reference: 'PM2 reload, uWSGI SIGHUP, node:cluster rolling restart: bench/lifecycle.mjs' });
  out.push({ target: 'idle memory ≤ 10 MB per worker; spawn-to-ready ≤ 50 ms (hello app)', value: 'see below', status: 'measured by bench/micro.mjs: "Micro-benchmarks" below', reference: 'bare worker_thread figures: bench/micro.mjs' });
  return out;
}

const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

export function renderMarkdown(summary, run, svgName) {
  const m = run.machine;
  const L = [];
  const secs = Math.round((new Date(run.finished) - new Date(run.started)) / 1000);
  L.push('# Spindle benchmark results', '');
  L.push(`Generated by \`bench/run.mjs\` — do not edit by hand; rerun instead (\`npm run bench\`, options in bench/README.md).`, '');
  L.push('## Run', '');
  L.push(`- **Command:** \`${run.command}\``);
  L.push(`- **Date:** ${new Date(run.started).toISOString()} (took ${secs} s)`);
  L.push(`- **Machine:** ${m.nproc} CPU × ${m.cpuModel}, ${m.memGiB} GiB RAM, Linux ${m.kernel}; load average at start ${m.loadavg}`);
  L.push(`- **Software:** Node ${m.node} (OpenSSL ${m.openssl}); ${m.wrk}; uWSGI ${m.uwsgi}; ${m.python}; net.core.somaxconn = ${m.somaxconn}`);
  L.push(`- **Pinning:** ${run.pin.text}`);
  L.push(`- **Load:** wrk, 127.0.0.1 only, ${run.opts.rounds} round(s) × ${run.opts.duration} s per case after ${run.opts.warmup} s warm-up, ` +
    `connections ${run.opts.connections.join(', ')}, wrk \`--timeout ${run.opts.timeout}s\`; each setup is started fresh per round and workload; ` +
    `setups interleaved, order rotated every round.`);
  L.push(`- **Noise:** the machine is shared with other work (load average at start ${m.loadavg}); absolute numbers move between runs — compare ratios within this run.`);
  L.push(`- **Ratios** are medians of per-round ratios against \`${run.baseline}\` measured in the same round; req/s, p50, p99 and CPU are medians over rounds; timeouts, socket errors and non-2xx are sums over rounds.`);
  if (run.calibration) {
    const f = (c) => (c?.error ? `error (${c.error})` : `${fx(c?.cpuMs, 3)} ms CPU / ${fx(c?.wallMs, 3)} ms wall`);
    L.push(`- **cpu2ms work itself** (SHA-256 over 34 × 64 KiB, measured outside any server, pinned): Node ${f(run.calibration.node)}; Python ${f(run.calibration.python)}.`);
  }
  L.push('');
  L.push('### Setups', '');
  L.push('| setup | what | command |', '|---|---|---|');
  for (const s of run.setups) {
    const st = run.skipped[s] ? `skipped: ${run.skipped[s].reason} — install: \`${run.skipped[s].install}\`` : (run.cmdlines[s] ? `\`${run.cmdlines[s].replace(/\S*\/bench\//g, 'bench/').replace(/\S*\/node /, 'node ')}\`` : 'did not start (see below)');
    L.push(`| ${s} | ${esc(SETUPS[s].describe)} | ${esc(st)} |`);
  }
  L.push('');
  L.push('### Workloads', '');
  for (const w of run.workloads) L.push(`- \`${w}\`: ${WORKLOADS[w].describe}`);
  L.push('');
  const fails = Object.entries(run.failed);
  if (fails.length || Object.keys(run.skipped).length || run.errors?.length) {
    L.push('### Skipped and failed setups', '');
    for (const [s, v] of Object.entries(run.skipped)) L.push(`- **${s}: skipped** — ${v.reason}. Install: \`${v.install}\``);
    // one entry per setup and distinct message (ports, paths and workload names normalised)
    const groups = new Map();
    for (const [key, msg] of fails) {
      const [s, w] = key.split('|');
      const norm = msg.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT').replace(/\S*\/bench\/apps\/\w+\.mjs/g, 'bench/apps/WORKLOAD.mjs').replace(new RegExp(`\\b${w}\\b`, 'g'), 'WORKLOAD');
      const g = groups.get(`${s}\n${norm}`) ?? { s, msg, workloads: [] };
      g.workloads.push(w);
      groups.set(`${s}\n${norm}`, g);
    }
    for (const g of groups.values()) {
      L.push(`- **${g.s}: failed to start** (workload${g.workloads.length > 1 ? 's' : ''} ${g.workloads.join(', ')}):`, '', '```', g.msg.trim().slice(-2000), '```', '');
    }
    for (const e of run.errors ?? []) L.push(`- **${e.setup}: measurement failed** (workload ${e.workload}, round ${e.round}): ${esc(e.message.slice(0, 500))}`);
    L.push('');
  }

  L.push('## Targets (issue 6)', '');
  L.push('| target | Spindle | status | other setups, same run |', '|---|---|---|---|');
  for (const t of summary.targets) L.push(`| ${esc(t.target)} | ${esc(t.value)} | ${esc(t.status)} | ${esc(t.reference || '—')} |`);
  L.push('');

  L.push('## Throughput', '', `![throughput per setup and workload](${svgName})`, '');
  for (const c of summary.cases) {
    L.push(`### ${c.workload} — ${c.connections} connections`, '');
    L.push(`| setup | req/s (median) | ratio vs ${run.baseline} | p50 ms | p99 ms | timeouts | socket errors | non-2xx | connections opened | CPU ms/req | RSS MiB |`);
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const e of c.entries) {
      if (e.status !== 'ok') { L.push(`| ${e.setup} | ${e.status} | | | | | | | | | |`); continue; }
      L.push(`| ${e.setup} | ${fmtInt(e.rps)} | ${fx(e.ratio)}× | ${fx(e.p50)} | ${fx(e.p99)} | ${e.timeouts} | ${e.socketErrors} | ${e.non2xx} | ${fx(e.opened, 0)} | ${fx(e.cpuMsPerReq, 3)} | ${fx(e.rssMiB, 0)} |`);
    }
    const hv = run.setups.filter((s) => c.workload === 'hang1pct' && summary.hangVsHello[s]?.[c.connections] !== undefined);
    if (hv.length) L.push('', `Throughput with 1 % hanging requests relative to the same setup's hello run: ${hv.map((s) => `${s} ${fx(summary.hangVsHello[s][c.connections])}×`).join(', ')}.`);
    L.push('');
  }

  L.push('## How to read these numbers', '');
  L.push('- wrk\'s latency percentiles leave out requests that timed out; the timeouts column counts them (wrk counts a connection stuck past `--timeout` at each check, so for a request that hangs forever the count is a lower bound of the damage, not a request count).');
  L.push('- Socket errors are connect + read + write errors: uWSGI harakiri shows up there (the connection is closed without a response) and so do servers that drop connections; non-2xx counts HTTP status ≥ 400 (e.g. Spindle\'s 504 for a hung request).');
  L.push('- Connections opened: the TCP connections the kernel accepted during the measured window (median over rounds; PassiveOpens, so anything else on the machine counts too). wrk opens its N at the start; more means the server closed kept-alive connections and wrk reconnected (Spindle\'s connection share does so on purpose, a few per worker; uWSGI\'s --http-socket opens one per request).');
  L.push('- CPU ms/req is the utime+stime of the server\'s whole process tree (master, workers, threads; reaped children included) during the measured window, divided by the requests completed. RSS is the sum over the tree\'s processes (threads share one RSS).');
  L.push('- uWSGI runs `--http-socket`, which serves one request per connection (no keep-alive; the app says `Connection: close` so wrk reconnects cleanly); Node setups use keep-alive. That is how the issue specifies the comparison.');
  if (run.setups.some((s) => s.startsWith('uwsgi'))) {
    L.push(`- uWSGI's default listen queue is 100: with 256 connections the accept queue can overflow, the kernel then drops the handshake and the client retries after ≥ 1 s, which shows in uWSGI's p99 and timeouts; \`uwsgi-listen1024\` raises it. uWSGI refuses a --listen above net.core.somaxconn (${run.machine.somaxconn} here${run.machine.somaxconn >= 1024 ? ', so no sysctl was needed' : ': raise it with sysctl -w net.core.somaxconn=1024'}).`);
  }
  L.push('- In the io20ms workload a uWSGI sync worker is blocked for the whole 20 ms, and so is a piscina thread (one task per thread, piscina\'s default) — that is the honest comparison with Spindle at `concurrency 1`.');
  L.push('- This is a shared 2-core machine: expect run-to-run noise; compare ratios from the same run, not absolute numbers across runs.');
  L.push('');

  for (const [file, what] of COMPANION_REPORTS) {
    const text = readCompanion(file);
    L.push(`## ${what} (${file})`, '');
    L.push(text ?? `not run yet: see bench/README.md for the command that writes ${file}`, '');
  }

  L.push('## Raw per-round numbers', '', '<details><summary>all measurements</summary>', '');
  L.push('| round | workload | conn | setup | req/s | requests | p50 ms | p99 ms | max ms | timeouts | connect/read/write err | non-2xx | opened | CPU ms/req | CPU util | RSS MiB | procs | ready ms |');
  L.push('|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of run.rows) {
    L.push(`| ${r.round} | ${r.workload} | ${r.connections} | ${r.setup} | ${fx(r.rps, 0)} | ${r.requests} | ${fx(r.p50)} | ${fx(r.p99)} | ${fx(r.latMax)} | ${r.timeouts} | ${r.connectErrors}/${r.readErrors}/${r.writeErrors} | ${r.non2xx} | ${fx(r.opened, 0)} | ${fx(r.cpuMsPerReq, 3)} | ${fx(r.cpuUtil)} | ${fx(r.rssMiB, 0)} | ${r.procs} | ${fx(r.readyMs, 0)} |${r.died ? ' ' + r.died : ''}`);
  }
  L.push('', '</details>', '');
  return L.join('\n');
}

// ---- SVG -----------------------------------------------------------------------------------------

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f'];
const xmlEsc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const kfmt = (x) => (x >= 10000 ? `${(x / 1000).toFixed(1)}k` : x >= 1000 ? `${(x / 1000).toFixed(2)}k` : x.toFixed(0));

/** Small multiples: one panel per workload × connections, one horizontal bar per setup (median req/s). */
export function renderSvg(summary, run) {
  const W = 760, labelW = 150, barMax = 440, barH = 16, gap = 4, panelPad = 28;
  const colors = Object.fromEntries(run.setups.map((s, i) => [s, PALETTE[i % PALETTE.length]]));
  const parts = [];
  let y = 40;
  for (const c of summary.cases) {
    const max = Math.max(1, ...c.entries.filter((e) => e.status === 'ok').map((e) => e.rps));
    parts.push(`<text x="10" y="${y}" font-weight="bold">${xmlEsc(`${c.workload} — ${c.connections} connections (req/s, median; ratio vs ${run.baseline})`)}</text>`);
    y += 8;
    for (const e of c.entries) {
      const by = y + gap;
      parts.push(`<text x="${labelW - 6}" y="${by + barH - 4}" text-anchor="end">${xmlEsc(e.setup)}</text>`);
      if (e.status === 'ok') {
        const w = Math.max(1, (e.rps / max) * barMax);
        parts.push(`<rect x="${labelW}" y="${by}" width="${w.toFixed(1)}" height="${barH}" fill="${colors[e.setup]}"/>`);
        const lbl = `${kfmt(e.rps)}${Number.isFinite(e.ratio) ? ` (${e.ratio.toFixed(2)}×)` : ''}${e.timeouts ? `, ${e.timeouts} timeouts` : ''}`;
        parts.push(`<text x="${(labelW + w + 5).toFixed(1)}" y="${by + barH - 4}">${xmlEsc(lbl)}</text>`);
      } else {
        parts.push(`<text x="${labelW}" y="${by + barH - 4}" fill="#999">${xmlEsc(e.status === 'failed' ? 'failed to start' : e.status)}</text>`);
      }
      y += barH + gap;
    }
    y += panelPad;
  }
  const H = y;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="14" font-weight="bold">${xmlEsc(`Throughput per setup and workload — ${new Date(run.started).toISOString().slice(0, 10)}, ${run.machine.nproc} CPU, Node ${run.machine.node}, pin ${run.opts.pin}`)}</text>
${parts.join('\n')}
</svg>
`;
}
