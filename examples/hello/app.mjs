// The smallest Spindle app: a Web-standard fetch handler (the quick start).
//   npm start                      (= node bin/spindle.js examples/hello/app.mjs)
//   curl http://127.0.0.1:8000/
// Any module whose default export has fetch(request) works; so do Node (req, res) handlers,
// Express, Fastify, Koa and Hono apps (see the sibling examples).
import { workerId } from 'spindle';

export default {
  fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === '/') return new Response(`hello from Spindle worker ${workerId()}\n`);
    return new Response('not found\n', { status: 404 });
  },
};
