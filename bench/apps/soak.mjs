// Spindle app for the reliability soak (bench/reload-soak.mjs --hostile): `/` is the hello
// workload; `/stream` streams 200 MB in 64 KiB chunks, produced only as fast as the client reads.
import { HELLO } from './work.mjs';

const CHUNK = new Uint8Array(64 * 1024).fill(120);
const STREAM_BYTES = 200 * 1024 * 1024;

export default {
  fetch(request) {
    if (new URL(request.url).pathname !== '/stream') return new Response(HELLO, { headers: { 'content-type': 'text/plain' } });
    let sent = 0;
    return new Response(new ReadableStream({
      pull(controller) {
        if (sent >= STREAM_BYTES) { controller.close(); return; }
        sent += CHUNK.byteLength;
        controller.enqueue(CHUNK);
      },
    }, { highWaterMark: 1 }), { headers: { 'content-type': 'application/octet-stream' } });
  },
};
