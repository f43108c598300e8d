// The hello app for PM2 cluster mode (CommonJS, which every PM2 version loads in cluster mode).
// Same answer as bench/servers/handlers.mjs "hello"; the port comes from $PORT.
const http = require('node:http');
const HELLO = 'Hello, World!';
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(HELLO) });
  res.end(HELLO);
});
server.keepAliveTimeout = 65000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => { if (process.send) process.send('ready'); });
process.on('SIGINT', () => server.close(() => process.exit(0)));
