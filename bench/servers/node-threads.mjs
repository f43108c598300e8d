// Setup "node-threads": node:http in N worker threads (default 2) of one process, each accepting on
// the same listening descriptor, which the main thread binds and never accepts on. This is the
// shape Spindle's workers serve in, with nothing of Spindle: the ceiling of that architecture on
// this machine, to set Spindle's own cost apart from the cost of threads sharing one process.
// net._createServerHandle is internal (as in bench/request-instructions.mjs): the one way to bind
// a descriptor without an event-loop handle accepting on it.
import http from 'node:http';
import net from 'node:net';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { handlerFor, parseArgs } from './handlers.mjs';

if (!isMainThread) {
  const server = http.createServer(handlerFor(workerData.workload));
  server.keepAliveTimeout = 65_000;
  server.listen({ fd: workerData.fd }, () => process.stdout.write('listening\n'));
} else {
  const args = parseArgs(process.argv.slice(2));
  const handle = net._createServerHandle(args.host, args.port, 4);
  if (typeof handle === 'number') throw new Error(`cannot bind ${args.host}:${args.port} (error ${handle})`);
  let listening = 0;
  for (let i = 0; i < args.workers; i++) {
    const w = new Worker(new URL(import.meta.url), { workerData: { fd: handle.fd, workload: args.workload }, stdout: true });
    w.stdout.once('data', () => { if (++listening === args.workers) console.log(`READY ${args.port}`); });
    w.on('error', (err) => { console.error(`worker thread failed: ${err.stack ?? err}`); process.exit(1); });
  }
  process.on('SIGTERM', () => process.exit(0));
}
