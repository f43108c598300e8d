// A Koa 3 app served by Spindle: export the app (Spindle calls app.callback() itself).
//   npm install koa
//   spindle examples/koa/app.mjs --http-socket 127.0.0.1:8000
import Koa from 'koa';
import { workerId } from 'spindle';

const app = new Koa();

app.use(async (ctx) => {
  if (ctx.method === 'GET' && ctx.path === '/') {
    ctx.body = `hello from Koa on worker ${workerId()}\n`;
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/items') {
    let text = '';
    for await (const chunk of ctx.req) text += chunk;
    ctx.status = 201;
    ctx.body = { created: JSON.parse(text || 'null') };
    return;
  }
  ctx.status = 404;
  ctx.body = 'not found\n';
});

export default app;
