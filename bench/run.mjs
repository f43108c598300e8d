#!/usr/bin/env node
// Spindle benchmark harness: every setup x workload x connection count, several rounds with the setups
// interleaved and their order rotated, wrk as load generator (127.0.0.1 only, bounded by -d), CPU per
// request from /proc over the server's whole process tree. Writes bench/RESULTS.md (+ .json, throughput.svg).
//
//   node bench/run.mjs [--quick] [--rounds N] [--duration S] [--warmup S] [--connections 64,256]
//                      [--setups a,b] [--workloads x,y] [--pin shared|split|none] [--timeout S]
//                      [--out bench/RESULTS.md]
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { installCleanup, treeCpu, hasCommand, sleep } from './lib/proc.mjs';
import { startSetup, primer, pinning } from './lib/start.mjs';
import { runWrk } from './lib/wrk.mjs';
import { SETUPS, DEFAULT_SETUPS, BASELINE, BENCH } from './lib/setups.mjs';
import { WORKLOADS, DEFAULT_WORKLOADS } from './lib/workloads.mjs';
import { machineInfo, calibrateCpuWork, tcpPassiveOpens } from './lib/machine.mjs';
import { summarize, renderMarkdown, renderSvg } from './lib/report.mjs';

const USAGE = `usage: node bench/run.mjs [options]
  --quick               a second or two per case (1 round, 1 s runs, no wrk warm-up, only a short primer)
  --rounds N            rounds; setups are interleaved and their order rotated each round (default 3)
  --duration S          seconds of measured load per case (default 10)
  --warmup S            seconds of wrk warm-up load before each measurement (default 2; 0 = primer only)
  --connections LIST    wrk connection counts (default 64,256)
  --setups LIST         ${DEFAULT_SETUPS.join(',')} (default: all)
  --workloads LIST      ${DEFAULT_WORKLOADS.join(',')} (default: all)
  --pin MODE            shared (default): wrk on the last CPU, server on all CPUs;
                        split: server on cpu 0 only, wrk on cpu 1; none: no taskset
  --timeout S           wrk per-request timeout (default 2, wrk's default)
  --out FILE            markdown report (default bench/RESULTS.md); FILE.json and a chart beside it
                        (throughput.svg for RESULTS.md, else NAME.throughput.svg)
  --no-calibrate        skip measuring the cpu2ms work in Node and Python
  --rerender [FILE.json] only re-render FILE.md and throughput.svg from a saved run (default bench/RESULTS.json)`;

function parseCli(argv) {
  const o = { rounds: 3, duration: 10, warmup: 2, connections: [64, 256], setups: DEFAULT_SETUPS,
    workloads: DEFAULT_WORKLOADS, pin: 'shared', timeout: 2, out: path.join(BENCH, 'RESULTS.md'), quick: false, calibrate: true };
  const given = new Set();
  const list = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    switch (a) {
      case '--quick': o.quick = true; break;
      case '--rounds': o.rounds = Number(val()); given.add('rounds'); break;
      case '--duration': o.duration = Number(val()); given.add('duration'); break;
      case '--warmup': o.warmup = Number(val()); given.add('warmup'); break;
      case '--connections': o.connections = list(val()).map(Number); break;
      case '--setups': o.setups = list(val()); break;
      case '--workloads': o.workloads = list(val()); break;
      case '--pin': o.pin = val(); break;
      case '--timeout': o.timeout = Number(val()); break;
      case '--out': o.out = path.resolve(val()); break;
      case '--no-calibrate': o.calibrate = false; break;
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  if (o.quick) {
    if (!given.has('rounds')) o.rounds = 1;
    if (!given.has('duration')) o.duration = 1;
    if (!given.has('warmup')) o.warmup = 0; // a 20-request primer still runs; wrk takes whole seconds only
  }
  for (const s of o.setups) if (!SETUPS[s]) throw new Error(`unknown setup ${s}; known: ${DEFAULT_SETUPS.join(', ')}`);
  for (const w of o.workloads) if (!WORKLOADS[w]) throw new Error(`unknown workload ${w}; known: ${DEFAULT_WORKLOADS.join(', ')}`);
  if (!['shared', 'split', 'none'].includes(o.pin)) throw new Error(`--pin must be shared, split or none`);
  if (!(o.rounds >= 1 && o.duration >= 1 && o.warmup >= 0 && o.connections.every((c) => c >= 1))) throw new Error('bad numeric option');
  // wrk only takes whole seconds
  o.duration = Math.ceil(o.duration); o.warmup = Math.ceil(o.warmup); o.timeout = Math.max(1, Math.ceil(o.timeout));
  return o;
}


/**
 * The chart beside a report: throughput.svg for bench/RESULTS.md, NAME.throughput.svg for any other
 * NAME.md (a second run, e.g. RESULTS-node24.md, must not overwrite the first one's chart).
 */
function svgPathFor(out) {
  const stem = path.basename(out, '.md');
  return path.join(path.dirname(out), stem === 'RESULTS' ? 'throughput.svg' : `${stem}.throughput.svg`);
}

/** Re-render RESULTS.md and throughput.svg from a saved RESULTS.json (after a change to the report code). */
function rerender(jsonPath) {
  const run = JSON.parse(readFileSync(jsonPath, 'utf8'));
  delete run.summary;
  const out = jsonPath.replace(/\.json$/, '.md');
  const summary = summarize(run);
  const svgPath = svgPathFor(out);
  writeFileSync(svgPath, renderSvg(summary, run));
  writeFileSync(out, renderMarkdown(summary, run, path.basename(svgPath)));
  console.log(`bench: re-rendered ${out}, ${svgPath} from ${jsonPath}`);
}

async function main() {
  if (process.argv[2] === '--rerender') return rerender(path.resolve(process.argv[3] ?? path.join(BENCH, 'RESULTS.json')));
  const opts = parseCli(process.argv.slice(2));
  installCleanup();
  if (!hasCommand('wrk')) {
    console.error('bench: wrk is not installed; it is the load generator. Install it: apt-get install -y wrk');
    process.exit(2);
  }
  const machine = machineInfo();
  const pin = pinning(opts.pin, machine.nproc);
  const started = new Date();
  const command = `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim();
  console.log(`bench: ${command}\nbench: ${machine.nproc} CPU (${machine.cpuModel}), ${machine.memGiB} GiB, Node ${machine.node}; pinning ${opts.pin}`);

  let calibration = null;
  if (opts.calibrate && opts.workloads.includes('cpu2ms')) {
    calibration = calibrateCpuWork({ cpus: pin.wrk ? '0' : undefined, iterations: opts.quick ? 50 : 300 });
    const f = (c) => (c.error ? `error: ${c.error}` : `${c.cpuMs.toFixed(3)} ms CPU (${c.wallMs.toFixed(3)} ms wall)`);
    console.log(`bench: cpu2ms work per request: node ${f(calibration.node)}; python ${f(calibration.python)}`);
  }

  const skipped = {};   // setup -> {reason, install}
  const failed = {};    // `${setup}|${workload}` -> message
  const errors = [];    // measurement errors (the server started, wrk failed)
  const active = [];
  for (const s of opts.setups) {
    const why = SETUPS[s].unavailable();
    if (why) { skipped[s] = { reason: why, install: SETUPS[s].install ?? '' }; console.log(`bench: skipping ${s}: ${why} (install: ${SETUPS[s].install ?? 'n/a'})`); }
    else active.push(s);
  }

  const rows = [];
  const cmdlines = {};
  for (let round = 0; round < opts.rounds; round++) {
    for (const workload of opts.workloads) {
      const order = active.map((_, i) => active[(i + round) % active.length]);
      for (const setup of order) {
        const key = `${setup}|${workload}`;
        if (failed[key]) continue; // failed to start before: do not retry every round
        const st = await startSetup(setup, workload, pin.server);
        if (st.error) {
          failed[key] = st.error;
          console.log(`bench: ${setup}: failed to start: ${st.error}\n  (workload ${workload}; this setup is left out of the run for ${workload}, the others go on)`);
          continue;
        }
        cmdlines[setup] ??= st.cmdline.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT').replace(/--port \d+/, '--port PORT');
        try {
          await primer(`http://127.0.0.1:${st.port}/`, workload);
          for (const connections of opts.connections) {
            const url = `http://127.0.0.1:${st.port}${WORKLOADS[workload].path}`;
            const common = { url, connections, timeoutS: opts.timeout, script: WORKLOADS[workload].script, cpus: pin.wrk };
            if (opts.warmup > 0) await runWrk({ ...common, durationS: opts.warmup });
            const c0 = treeCpu(st.handle.pid);
            const opened0 = tcpPassiveOpens();
            const w = await runWrk({ ...common, durationS: opts.duration });
            const opened = tcpPassiveOpens() - opened0;
            const c1 = treeCpu(st.handle.pid);
            const p = w.parsed;
            const died = st.handle.exitInfo ? `server exited (code ${st.handle.exitInfo.code}, signal ${st.handle.exitInfo.signal})` : null;
            const row = {
              round: round + 1, workload, connections, setup,
              rps: p.rps, requests: p.requests, p50: p.p50, p99: p.p99, latMax: p.latMax,
              timeouts: p.timeouts, socketErrors: p.socketErrors, connectErrors: p.connectErrors, readErrors: p.readErrors,
              writeErrors: p.writeErrors, non2xx: p.non2xx, opened,
              cpuMsPerReq: p.requests > 0 ? ((c1.cpuSec - c0.cpuSec) * 1000) / p.requests : NaN,
              cpuUtil: (c1.cpuSec - c0.cpuSec) / p.seconds, rssMiB: c1.rssBytes / 1024 ** 2, procs: c1.nprocs,
              readyMs: st.readyMs, died,
            };
            rows.push(row);
            console.log(`bench: r${row.round} ${workload.padEnd(8)} c=${String(connections).padEnd(4)} ${setup.padEnd(17)} ` +
              `${row.rps.toFixed(0).padStart(7)} req/s  p50 ${row.p50.toFixed(2)} ms  p99 ${row.p99.toFixed(2)} ms  ` +
              `timeouts ${row.timeouts}  sockerr ${row.socketErrors}  non2xx ${row.non2xx}  opened ${row.opened}  cpu ${row.cpuMsPerReq.toFixed(3)} ms/req${died ? '  ' + died : ''}`);
            if (died) break;
          }
        } catch (err) {
          errors.push({ setup, workload, round: round + 1, message: err.message });
          console.log(`bench: ${setup}/${workload}: measurement failed: ${err.message}`);
        } finally {
          await st.handle.stop(1000);
        }
        await sleep(200); // let TIME_WAIT churn and the scheduler settle between setups
      }
    }
  }

  const finished = new Date();
  const run = { command, opts, machine, pin, started, finished, calibration, skipped, failed, errors, rows, cmdlines,
    setups: opts.setups, workloads: opts.workloads, baseline: BASELINE };
  const summary = summarize(run);
  mkdirSync(path.dirname(opts.out), { recursive: true });
  const svgPath = svgPathFor(opts.out);
  writeFileSync(svgPath, renderSvg(summary, run));
  writeFileSync(opts.out, renderMarkdown(summary, run, path.basename(svgPath)));
  writeFileSync(opts.out.replace(/\.md$/, '') + '.json', JSON.stringify({ ...run, summary }, null, 1));
  console.log(`bench: wrote ${opts.out}, ${svgPath}`);
  const anyFailed = Object.keys(failed).length > 0 || errors.length > 0;
  process.exitCode = anyFailed ? 3 : 0;
}

main().catch((err) => {
  console.error(`bench: ${err?.stack ?? err}`);
  process.exitCode = 1;
});
