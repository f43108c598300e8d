// An Express 5 app served by Spindle: export the app (no app.listen(); Spindle owns the sockets).
//   npm install express
//   spindle examples/express/app.mjs --http-socket 127.0.0.1:8000
import express from 'express';
import { workerId } from 'spindle';

const app = express();
app.use(express.json({ limit: '1mb' }));

app.get('/', (req, res) => {
  res.send(`hello from Express on worker ${workerId()}\n`);
});

app.post('/items', (req, res) => {
  res.status(201).json({ created: req.body });
});

export default app;
