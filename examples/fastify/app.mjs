// A Fastify 5 app served by Spindle: export the instance without calling listen(); Spindle waits
// for ready() in each worker and feeds it requests.
//   npm install fastify
//   spindle examples/fastify/app.mjs --http-socket 127.0.0.1:8000
import Fastify from 'fastify';
import { workerId } from 'spindle';

const app = Fastify();

app.get('/', async () => `hello from Fastify on worker ${workerId()}\n`);

app.post('/items', async (request, reply) => {
  reply.code(201);
  return { created: request.body };
});

export default app;
