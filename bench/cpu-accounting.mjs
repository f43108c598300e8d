// Where a setup's CPU goes under load, per request: its request threads (the busiest N threads:
// cluster's worker processes, node-threads' and Spindle's worker threads), every other thread of
// the setup (a master or primary, V8's compiler and GC helpers), how often the scheduler took the CPU
// from a request thread, and how many rescheduling interrupts (one CPU waking a thread on another)
// the machine took. run.mjs says how fast; this says why one setup is slower than another, in the
// same conditions (the same start, primer, wrk warm-up and CPU pinning as run.mjs).
//
//   node bench/cpu-accounting.mjs [--setups node-cluster,node-threads,spindle] [--workload hello]
//        [--connections 64] [--rounds 3] [--duration 10] [--warmup 2] [--threads 2]
//
// Prints a Markdown table of medians over the rounds (setups interleaved, order rotated per round).
import { readFileSync } from 'node:fs';
import { installCleanup, treeThreads, hasCommand, sleep } from './lib/proc.mjs';
import { startSetup, primer, pinning } from './lib/start.mjs';
import { runWrk } from './lib/wrk.mjs';
import { SETUPS } from './lib/setups.mjs';
import { WORKLOADS } from './lib/workloads.mjs';
import { machineInfo } from './lib/machine.mjs';
import { median, sum } from './lib/stats.mjs';

function parseCli(argv) {
  const o = { setups: ['node-cluster', 'node-threads', 'spindle'], workload: 'hello', connections: 64, rounds: 3, duration: 10, warmup: 2, threads: 2 };
  for (let i = 0; i < argv.length; i++) {
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return v;
    };
    switch (argv[i]) {
      case '--setups': o.setups = val().split(',').filter(Boolean); break;
      case '--workload': o.workload = val(); break;
      case '--connections': o.connections = Number(val()); break;
      case '--rounds': o.rounds = Number(val()); break;
      case '--duration': o.duration = Number(val()); break;
      case '--warmup': o.warmup = Number(val()); break;
      case '--threads': o.threads = Number(val()); break;
      default: throw new Error(`unknown option ${argv[i]} (see the head of bench/cpu-accounting.mjs)`);
    }
  }
  for (const s of o.setups) {
    if (!SETUPS[s]) throw new Error(`unknown setup ${s}; known: ${Object.keys(SETUPS).join(', ')}`);
    const why = SETUPS[s].unavailable();
    if (why) throw new Error(`setup ${s} cannot run here: ${why}${SETUPS[s].install ? ` (install: ${SETUPS[s].install})` : ''}`);
  }
  if (!WORKLOADS[o.workload]) throw new Error(`unknown workload ${o.workload}; known: ${Object.keys(WORKLOADS).join(', ')}`);
  for (const k of ['connections', 'rounds', 'duration', 'threads']) if (!(Number.isInteger(o[k]) && o[k] >= 1)) throw new Error(`--${k} must be a whole number >= 1`);
  if (!(Number.isInteger(o.warmup) && o.warmup >= 0)) throw new Error('--warmup must be a whole number >= 0');
  return o;
}

/** Rescheduling interrupts so far, summed over CPUs (the RES line of /proc/interrupts). */
function reschedulingInterrupts() {
  const line = readFileSync('/proc/interrupts', 'utf8').split('\n').find((l) => /^\s*RES:/.test(l));
  if (!line) return NaN;
  return line.trim().split(/\s+/).slice(1).filter((x) => /^\d+$/.test(x)).reduce((a, b) => a + Number(b), 0);
}

/** One measured window of one setup: per-request figures. */
async function measure(setup, o, pin) {
  const st = await startSetup(setup, o.workload, pin.server);
  if (st.error) throw new Error(`${setup} failed to start: ${st.error}`);
  try {
    const url = `http://127.0.0.1:${st.port}${WORKLOADS[o.workload].path}`;
    await primer(url, o.workload);
    const common = { url, connections: o.connections, script: WORKLOADS[o.workload].script, cpus: pin.wrk };
    if (o.warmup > 0) await runWrk({ ...common, durationS: o.warmup });
    const before = new Map(treeThreads(st.handle.pid).map((t) => [t.tid, t]));
    const res0 = reschedulingInterrupts();
    const w = await runWrk({ ...common, durationS: o.duration });
    const res1 = reschedulingInterrupts();
    // Threads that started inside the window count from zero; threads that ended in it are lost (rare under steady load).
    const used = treeThreads(st.handle.pid).map((t) => {
      const b = before.get(t.tid) ?? { userMs: 0, sysMs: 0, preempted: 0 };
      return { userMs: t.userMs - b.userMs, sysMs: t.sysMs - b.sysMs, preempted: t.preempted - b.preempted };
    }).sort((a, b) => b.userMs + b.sysMs - (a.userMs + a.sysMs));
    const requestThreads = used.slice(0, o.threads);
    const others = used.slice(o.threads);
    const n = w.parsed.requests;
    const perReqUs = (ms) => (ms * 1000) / n;
    return {
      rps: w.parsed.rps,
      userUs: perReqUs(sum(requestThreads.map((t) => t.userMs))),
      sysUs: perReqUs(sum(requestThreads.map((t) => t.sysMs))),
      otherUs: perReqUs(sum(others.map((t) => t.userMs + t.sysMs))),
      preemptedPerK: (sum(requestThreads.map((t) => t.preempted)) * 1000) / n,
      reschedPerK: ((res1 - res0) * 1000) / n,
      split: requestThreads.map((t) => Math.round(t.userMs + t.sysMs)).join(' / '),
    };
  } finally {
    await st.handle.stop(2000);
  }
}

async function main() {
  const o = parseCli(process.argv.slice(2));
  installCleanup();
  if (!hasCommand('wrk')) {
    console.error('cpu-accounting: wrk is not installed; it is the load generator. Install it: apt-get install -y wrk');
    process.exit(2);
  }
  const { nproc, node } = machineInfo();
  const pin = pinning('shared', nproc); // run.mjs's default: the server on every CPU, wrk on the last one
  console.log(`cpu-accounting: node bench/cpu-accounting.mjs ${process.argv.slice(2).join(' ')}`.trim());
  console.log(`cpu-accounting: Node ${node}, ${nproc} CPU; ${o.workload}, ${o.connections} connections, ${o.rounds} round(s) of ${o.duration} s after ${o.warmup} s of warm-up`);
  const rows = new Map(o.setups.map((s) => [s, []]));
  for (let round = 0; round < o.rounds; round++) {
    for (let i = 0; i < o.setups.length; i++) {
      const setup = o.setups[(i + round) % o.setups.length];
      const m = await measure(setup, o, pin);
      rows.get(setup).push(m);
      console.log(`cpu-accounting: r${round + 1} ${setup.padEnd(14)} ${Math.round(m.rps)} req/s  request threads ${m.userUs.toFixed(2)} µs user + ${m.sysUs.toFixed(2)} µs sys per request (ms: ${m.split}), other threads ${m.otherUs.toFixed(2)} µs, preempted ${m.preemptedPerK.toFixed(1)}/1k, RES ${m.reschedPerK.toFixed(1)}/1k`);
      await sleep(200);
    }
  }
  const med = (xs, k, d = 2) => median(xs.map((x) => x[k])).toFixed(d);
  console.log('\n| setup | req/s | request threads, user µs/req | request threads, system µs/req | other threads µs/req | request threads preempted /1k req | rescheduling interrupts /1k req |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [setup, xs] of rows) {
    console.log(`| ${setup} | ${Math.round(median(xs.map((x) => x.rps))).toLocaleString('en-US')} | ${med(xs, 'userUs')} | ${med(xs, 'sysUs')} | ${med(xs, 'otherUs')} | ${med(xs, 'preemptedPerK', 1)} | ${med(xs, 'reschedPerK', 1)} |`);
  }
}

main().catch((err) => {
  console.error(`cpu-accounting: ${err.message}`);
  process.exit(1);
});
