// Setup "piscina": node:http on the main thread, the work done by a piscina 5 pool of N threads (default 2)
// with piscina's defaults (one task at a time per thread) — what a Node user builds to use threads.
import http from 'node:http';
import { Piscina } from 'piscina';
import { parseArgs } from './handlers.mjs';

const { port, host, workload, workers } = parseArgs(process.argv.slice(2));
const pool = new Piscina({
  filename: new URL('./piscina-task.mjs', import.meta.url).href,
  minThreads: workers, maxThreads: workers,
});

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  try {
    const body = workload === 'body1mb' ? await readBody(req) : undefined;
    const out = await pool.run({ workload, url: req.url, body });
    const buf = typeof out.body === 'string' ? out.body : Buffer.from(out.body);
    res.writeHead(out.status, { 'content-type': out.type, 'content-length': Buffer.byteLength(buf) });
    res.end(buf);
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(err));
  }
});
server.keepAliveTimeout = 65_000;
server.listen(port, host, () => console.log(`READY ${server.address().port}`));
process.on('SIGTERM', () => { server.close(); pool.destroy().finally(() => process.exit(0)); });
