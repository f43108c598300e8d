// Machine facts for RESULTS.md, and the calibration of the cpu2ms work in each runtime.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { BENCH, somaxconn } from './setups.mjs';
import { hasCommand } from './proc.mjs';

export function machineInfo() {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1].trim();
  } catch { /* keep os value */ }
  let nproc = os.availableParallelism?.() ?? os.cpus().length;
  try { nproc = Number(execFileSync('nproc').toString().trim()) || nproc; } catch { /* keep */ }
  const tool = (cmd, args) => { try { return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString().split('\n')[0].trim(); } catch (e) { return (e.stdout?.toString() || e.stderr?.toString() || '').split('\n')[0].trim() || 'n/a'; } };
  return {
    nproc,
    cpuModel,
    memGiB: (os.totalmem() / 1024 ** 3).toFixed(1),
    kernel: os.release(),
    node: process.version,
    openssl: process.versions.openssl,
    wrk: hasCommand('wrk') ? tool('wrk', ['-v']) : 'missing',
    uwsgi: hasCommand('uwsgi') ? tool('uwsgi', ['--version']) : 'missing',
    python: hasCommand('python3') ? tool('python3', ['--version']) : 'missing',
    somaxconn: somaxconn(),
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

/**
 * TCP connections the kernel has accepted so far (PassiveOpens in /proc/net/snmp, every socket of
 * the machine); NaN where it cannot be read. Read around a measurement, it counts the connections
 * the client opened: wrk opens its N at the start, so more means the server closed kept-alive
 * connections and wrk reconnected.
 */
export function tcpPassiveOpens() {
  try {
    const tcp = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Tcp:'));
    const names = tcp[0].split(/\s+/);
    return Number(tcp[1].split(/\s+/)[names.indexOf('PassiveOpens')]);
  } catch {
    return NaN;
  }
}

/** Measure the CPU time of one cpu2ms unit of work in Node and in Python (pinned to cpu, if given). */
export function calibrateCpuWork({ cpus, iterations = 200 } = {}) {
  const pin = (cmd, args) => (cpus ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args]);
  const out = {};
  const nodeCode = `
    const { cpuWork } = await import(${JSON.stringify(path.join(BENCH, 'apps', 'work.mjs'))});
    for (let i = 0; i < 20; i++) cpuWork();
    const c0 = process.cpuUsage(), t0 = performance.now();
    for (let i = 0; i < ${iterations}; i++) cpuWork();
    const c = process.cpuUsage(c0), t = performance.now() - t0;
    console.log(JSON.stringify({ cpuMs: (c.user + c.system) / 1000 / ${iterations}, wallMs: t / ${iterations} }));`;
  try {
    const [cmd, args] = pin(process.execPath, ['--input-type=module', '-e', nodeCode]);
    out.node = JSON.parse(execFileSync(cmd, args, { timeout: 60000 }).toString());
  } catch (e) { out.node = { error: String(e.message).split('\n')[0] }; }
  const pyCode = `
import sys, time, json
sys.path.insert(0, ${JSON.stringify(path.join(BENCH, 'servers'))})
import wsgi_app
for _ in range(20): wsgi_app.cpu_work()
c0, t0 = time.process_time(), time.perf_counter()
for _ in range(${iterations}): wsgi_app.cpu_work()
c, t = time.process_time() - c0, time.perf_counter() - t0
print(json.dumps({"cpuMs": c * 1000 / ${iterations}, "wallMs": t * 1000 / ${iterations}}))`;
  if (hasCommand('python3')) {
    try {
      const [cmd, args] = pin('python3', ['-c', pyCode]);
      out.python = JSON.parse(execFileSync(cmd, args, { timeout: 60000 }).toString());
    } catch (e) { out.python = { error: String(e.message).split('\n')[0] }; }
  } else out.python = { error: 'python3 missing' };
  return out;
}
