// Setup "node-cluster": node:cluster with N worker processes (default 2), same handlers as node-http.
// SIGHUP = rolling restart (fork a new worker, wait until it listens, then disconnect an old one),
// which is what a node:cluster user would write; used by bench/lifecycle.mjs for the reload comparison.
import cluster from 'node:cluster';
import http from 'node:http';
import { handlerFor, parseArgs } from './handlers.mjs';

const args = parseArgs(process.argv.slice(2));

if (cluster.isPrimary) {
  let listening = 0, ready = false, stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < args.workers; i++) fork();
  cluster.on('listening', () => {
    listening++;
    if (!ready && listening >= args.workers) { ready = true; console.log(`READY ${args.port}`); }
  });
  cluster.on('exit', (w, code, signal) => {
    if (!stopping && !w.exitedAfterDisconnect) { console.error(`worker ${w.process.pid} died (${code ?? signal}), respawning`); fork(); }
  });
  let reloading = false;
  process.on('SIGHUP', async () => {
    if (reloading) return;
    reloading = true;
    const old = Object.values(cluster.workers);
    for (const w of old) {
      const nw = fork();
      await new Promise((r) => nw.once('listening', r));
      w.disconnect();
      await new Promise((r) => w.once('exit', r));
    }
    reloading = false;
    console.log('RELOADED');
  });
  process.on('SIGTERM', () => { stopping = true; for (const w of Object.values(cluster.workers)) w.kill(); process.exit(0); });
} else {
  const server = http.createServer(handlerFor(args.workload));
  server.keepAliveTimeout = 65_000;
  server.listen(args.port, args.host);
}
