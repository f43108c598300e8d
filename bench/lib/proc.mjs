// Process plumbing for the benchmark harness: spawn in own process groups, kill them all on any exit,
// free ports, readiness polling, and CPU accounting over a whole process tree via /proc.
import { spawn, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';

const live = new Map(); // pgid -> label
const extraCleanups = new Set();

/** Register a synchronous cleanup (e.g. `pm2 kill` for a daemon outside our process groups). */
export function addCleanup(fn) { extraCleanups.add(fn); return () => extraCleanups.delete(fn); }

/** Kill every process group we started (SIGKILL), synchronously. Safe to call many times. */
export function killAllSync() {
  for (const fn of extraCleanups) { try { fn(); } catch { /* best effort */ } }
  extraCleanups.clear();
  for (const pgid of live.keys()) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ }
  }
  live.clear();
}

let hooked = false;
/** Install handlers so that SIGINT/SIGTERM/uncaught errors/normal exit never leave servers behind. */
export function installCleanup() {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, killing ${live.size} process group(s)\n`);
      killAllSync();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: uncaught ${err?.stack ?? err}\n`);
    killAllSync();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: unhandled rejection ${err?.stack ?? err}\n`);
    killAllSync();
    process.exit(1);
  });
}

/** A bounded tail buffer for a child's output. */
function tailBuffer(max = 8192) {
  let s = '';
  return {
    push(chunk) { s += chunk.toString(); if (s.length > max) s = s.slice(-max); },
    get text() { return s; },
  };
}

/**
 * Spawn a command in its own process group (detached), optionally pinned with taskset.
 * Returns {child, pid, out (tail of stdout+stderr), exited (promise), stop()}.
 */
export function spawnGroup(cmd, args, { cpus, cwd, env, label, onLine } = {}) {
  let file = cmd, argv = args;
  if (cpus) { file = 'taskset'; argv = ['-c', cpus, cmd, ...args]; }
  const child = spawn(file, argv, {
    cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = tailBuffer();
  let lineBuf = '';
  const onData = (chunk) => {
    out.push(chunk);
    if (onLine) {
      lineBuf += chunk.toString();
      let i;
      while ((i = lineBuf.indexOf('\n')) >= 0) { onLine(lineBuf.slice(0, i)); lineBuf = lineBuf.slice(i + 1); }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('error', (err) => { exitInfo = { code: null, signal: null, error: err }; resolve(exitInfo); });
    child.on('exit', (code, signal) => { exitInfo = { code, signal }; resolve(exitInfo); });
  });
  if (child.pid) live.set(child.pid, label ?? cmd);
  const handle = {
    child, pid: child.pid, out, exited, label: label ?? cmd,
    get exitInfo() { return exitInfo; },
    /** SIGTERM the group, wait up to graceMs, then SIGKILL the group. */
    async stop(graceMs = 1500) {
      const pgid = child.pid;
      if (!pgid) return;
      try { process.kill(-pgid, 'SIGTERM'); } catch { /* gone */ }
      const t = setTimeout(() => { try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ } }, graceMs);
      await exited;
      clearTimeout(t);
      // the leader may exit before its children: make sure the whole group is gone
      try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
      live.delete(pgid);
    },
  };
  exited.then(() => { /* keep pgid registered until stop(): children may outlive the leader */ });
  return handle;
}

/** Find a free TCP port on 127.0.0.1 by listening on :0 and closing. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** One HTTP GET with a timeout; resolves {status, body} or rejects. */
export function httpGet(url, { timeoutMs = 1000, agent = false, method = 'GET', body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Poll url until it answers 2xx, the process exits, or the deadline passes. Returns {ok, ms, reason}. */
export async function waitReady(url, handle, deadlineMs = 15000) {
  const t0 = performance.now();
  let last = 'no answer';
  while (performance.now() - t0 < deadlineMs) {
    if (handle.exitInfo) {
      const e = handle.exitInfo;
      return { ok: false, reason: e.error ? `spawn error: ${e.error.message}` : `exited (code ${e.code}, signal ${e.signal}) before answering` };
    }
    try {
      const r = await httpGet(url, { timeoutMs: 1000 });
      if (r.status >= 200 && r.status < 300) return { ok: true, ms: performance.now() - t0 };
      last = `HTTP ${r.status}`;
    } catch (err) { last = err.code ?? err.message; }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { ok: false, reason: `not ready after ${deadlineMs} ms (last: ${last})` };
}

// ---- /proc accounting ------------------------------------------------------------------------

let clkTck = 100;
try { clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100; } catch { /* default */ }
const pageSize = 4096;

/** The stat of process `pid`, or of one of its threads when `dir` is /proc/PID/task/TID. */
function readStat(pid, dir = `/proc/${pid}`) {
  try {
    const s = readFileSync(`${dir}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] = field 3 (state); field n -> f[n-3]
    return {
      pid: Number(pid), ppid: Number(f[1]), pgrp: Number(f[2]),
      utime: Number(f[11]), stime: Number(f[12]), cutime: Number(f[13]), cstime: Number(f[14]),
      rss: Number(f[21]) * pageSize,
    };
  } catch { return null; }
}

/** All processes in the tree under rootPid plus everything in its process group. */
export function processTree(rootPid) {
  const all = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = readStat(d);
    if (st) all.push(st);
  }
  const inTree = new Set([rootPid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) if (!inTree.has(p.pid) && (inTree.has(p.ppid) || p.pgrp === rootPid)) { inTree.add(p.pid); grew = true; }
  }
  return all.filter((p) => inTree.has(p.pid));
}

/**
 * Every thread of the tree, with its CPU time (ms, user and system) and involuntary context switches
 * (times the scheduler took the CPU from it while it could still run): for bench/cpu-accounting.mjs.
 */
export function treeThreads(rootPid) {
  const threads = [];
  for (const p of processTree(rootPid)) {
    let tids = [];
    try { tids = readdirSync(`/proc/${p.pid}/task`); } catch { continue; }
    for (const tid of tids) {
      const dir = `/proc/${p.pid}/task/${tid}`;
      const st = readStat(p.pid, dir);
      let status = '';
      try { status = readFileSync(`${dir}/status`, 'utf8'); } catch { /* the thread ended */ }
      if (st === null || status === '') continue;
      threads.push({
        tid: Number(tid), userMs: (st.utime * 1000) / clkTck, sysMs: (st.stime * 1000) / clkTck,
        preempted: Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0),
      });
    }
  }
  return threads;
}

/**
 * CPU seconds used so far by the tree: utime+stime of live members plus cutime+cstime (children that
 * already exited and were reaped, e.g. uWSGI workers killed by harakiri, are accounted in their parent).
 */
export function treeCpu(rootPid) {
  const procs = processTree(rootPid);
  let ticks = 0, rss = 0;
  for (const p of procs) { ticks += p.utime + p.stime + p.cutime + p.cstime; rss += p.rss; }
  return { cpuSec: ticks / clkTck, rssBytes: rss, nprocs: procs.length };
}

export function hasCommand(cmd) {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true; } catch { return false; }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
