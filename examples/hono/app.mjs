// A Hono 4 app served by Spindle: a Hono app is a fetch handler, exported as is.
//   npm install hono
//   spindle examples/hono/app.mjs --http-socket 127.0.0.1:8000
import { Hono } from 'hono';
import { workerId } from 'spindle';

const app = new Hono();

app.get('/', (c) => c.text(`hello from Hono on worker ${workerId()}\n`));

app.post('/items', async (c) => c.json({ created: await c.req.json() }, 201));

export default app;
