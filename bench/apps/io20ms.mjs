// Spindle app for the "io20ms" workload: 20 ms of awaited I/O (a timer) per request.
import { HELLO, ioWork } from './work.mjs';

export default {
  async fetch() {
    await ioWork();
    return new Response(HELLO, { headers: { 'content-type': 'text/plain' } });
  },
};
