// Setup "node-http": plain node:http on one thread.
import http from 'node:http';
import { handlerFor, parseArgs } from './handlers.mjs';

const { port, host, workload } = parseArgs(process.argv.slice(2));
const server = http.createServer(handlerFor(workload));
server.keepAliveTimeout = 65_000;
server.listen(port, host, () => console.log(`READY ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
