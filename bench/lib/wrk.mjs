// Run wrk (bounded by -d, 127.0.0.1 only) and parse its text output (--latency).
import { spawnGroup } from './proc.mjs';

const TIME_UNITS = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
const SIZE_UNITS = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function ms(v) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(v.trim());
  return m ? Number(m[1]) * TIME_UNITS[m[2]] : NaN;
}

/** Parse wrk 4.x output. Throws if the essential lines are missing. */
export function parseWrk(text) {
  const r = {
    requests: NaN, seconds: NaN, rps: NaN, bytes: NaN,
    p50: NaN, p75: NaN, p90: NaN, p99: NaN, latAvg: NaN, latMax: NaN,
    connectErrors: 0, readErrors: 0, writeErrors: 0, timeouts: 0, non2xx: 0,
  };
  let m;
  if ((m = /(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read/.exec(text))) {
    r.requests = Number(m[1]);
    r.seconds = Number(m[2]) * TIME_UNITS[m[3]] / 1000;
    r.bytes = Number(m[4]) * SIZE_UNITS[m[5]];
  }
  if ((m = /Requests\/sec:\s+([\d.]+)/.exec(text))) r.rps = Number(m[1]);
  if ((m = /Latency\s+([\d.]+\w+)\s+([\d.]+\w+)\s+([\d.]+\w+)/.exec(text))) { r.latAvg = ms(m[1]); r.latMax = ms(m[3]); }
  for (const p of [50, 75, 90, 99]) {
    const mm = new RegExp(`^\\s*${p}(?:\\.0+)?%\\s+([\\d.]+\\w+)`, 'm').exec(text);
    if (mm) r[`p${p}`] = ms(mm[1]);
  }
  if ((m = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text))) {
    r.connectErrors = Number(m[1]); r.readErrors = Number(m[2]); r.writeErrors = Number(m[3]); r.timeouts = Number(m[4]);
  }
  if ((m = /Non-2xx or 3xx responses: (\d+)/.exec(text))) r.non2xx = Number(m[1]);
  if (!Number.isFinite(r.rps) || !Number.isFinite(r.requests)) {
    throw new Error(`could not parse wrk output:\n${text.slice(-1500)}`);
  }
  r.socketErrors = r.connectErrors + r.readErrors + r.writeErrors;
  return r;
}

/**
 * Run wrk once. Options: url, connections, durationS, timeoutS, script (lua path), threads, cpus.
 * Resolves {parsed, text, args}.
 */
export async function runWrk({ url, connections, durationS, timeoutS = 2, script, threads = 1, cpus }) {
  if (!/^http:\/\/127\.0\.0\.1[:/]/.test(url)) throw new Error(`refusing to load anything but 127.0.0.1: ${url}`);
  const args = ['-t', String(Math.min(threads, connections)), '-c', String(connections), '-d', `${durationS}s`,
    '--timeout', `${timeoutS}s`, '--latency'];
  if (script) args.push('-s', script);
  args.push(url);
  let text = '';
  const h = spawnGroup('wrk', args, { cpus, label: 'wrk', onLine: (l) => { text += l + '\n'; } });
  // wrk ends by itself after -d; a hard stop guards against anything odd (e.g. a stalled connect).
  const guard = setTimeout(() => h.stop(500), (durationS + timeoutS + 10) * 1000);
  const exit = await h.exited;
  clearTimeout(guard);
  await h.stop(100);
  if (exit.error) throw new Error(`wrk could not start: ${exit.error.message} (install: apt-get install -y wrk)`);
  if (exit.code !== 0) throw new Error(`wrk exited with ${exit.code ?? exit.signal}: ${h.out.text.slice(-800)}`);
  return { parsed: parseWrk(text), text, args };
}
