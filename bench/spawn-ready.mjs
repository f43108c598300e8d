#!/usr/bin/env node
// Worker spawn-to-ready: the time from `new Worker()` to the worker's READY (its app loaded), as the
// master logs it in 'workers ready' {ms}. Starts the real CLI N times with one worker on an app
// that imports from 'spindle', reads that line, stops the server; prints the median and range.
//
//   node bench/spawn-ready.mjs [--runs 15] [--app examples/shared-state/app.mjs] [--against DIR]
//
// --against DIR: another checkout (built), run alternately with this one, for a before/after.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const runs = Number(arg('--runs', 15));
const app = arg('--app', 'examples/shared-state/app.mjs');
const against = arg('--against');

function once(root) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [`${root}/bin/spindle.js`, app, '--processes', '1', '--http', '127.0.0.1:0', '--log-format', 'json'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    let ms;
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error('no "workers ready" line within 20 s')); }, 20000);
    p.stdout.setEncoding('utf8').on('data', (d) => {
      buf += d;
      for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
        let l; try { l = JSON.parse(buf.slice(0, i)); } catch { continue; }
        if (l.event === 'WORKERS_READY') ms = l.ms;
        if (l.event === 'SERVING') p.kill('SIGINT');
      }
    });
    p.on('exit', () => { clearTimeout(timer); ms === undefined ? reject(new Error('spindle exited without "workers ready"')) : resolve(ms); });
  });
}

const roots = against ? [ROOT, against] : [ROOT];
const times = roots.map(() => []);
for (let i = 0; i < runs; i++) for (const [j, root] of roots.entries()) times[j].push(await once(root));
for (const [j, root] of roots.entries()) {
  const all = times[j].sort((a, b) => a - b);
  console.log(`${root}: spawn-to-ready of 1 worker (${app}), ${runs} runs: median ${all[all.length >> 1]} ms, min ${all[0]} ms, max ${all[all.length - 1]} ms`);
}
