// node:http (req, res) handlers for each workload, used by the node-http and node-cluster setups.
// They do exactly the work of bench/apps/*.mjs (shared via bench/apps/work.mjs) without any
// Request/Response conversion: this is what a plain node:http user writes.
import { HELLO, cpuWork, ioWork, hangForever, isHangPath } from '../apps/work.mjs';

const TEXT = { 'content-type': 'text/plain' };

function send(res, status, headers, body) {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export const handlers = {
  hello: (req, res) => send(res, 200, TEXT, HELLO),
  cpu2ms: (req, res) => send(res, 200, TEXT, cpuWork()),
  io20ms: async (req, res) => { await ioWork(); send(res, 200, TEXT, HELLO); },
  hang1pct: async (req, res) => {
    if (isHangPath(req.url)) await hangForever();
    send(res, 200, TEXT, HELLO);
  },
  body1mb: async (req, res) => {
    const body = await readBody(req);
    send(res, 200, { 'content-type': 'application/octet-stream' }, body);
  },
};

export function handlerFor(workload) {
  const h = handlers[workload];
  if (!h) throw new Error(`unknown workload ${workload}; known: ${Object.keys(handlers).join(', ')}`);
  return (req, res) => {
    Promise.resolve(h(req, res)).catch((err) => {
      if (!res.headersSent) send(res, 500, TEXT, String(err));
      else res.destroy();
    });
  };
}

/** Parse `--port N --workload W [--workers N]` style args. */
export function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) { o[a.slice(2)] = argv[i + 1]; i++; }
  }
  return { port: Number(o.port ?? 0), host: o.host ?? '127.0.0.1', workload: o.workload ?? 'hello', workers: Number(o.workers ?? 2) };
}
