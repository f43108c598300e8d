// Spindle app for the "hang1pct" workload: hello world, except /hang never answers (wrk's
// bench/lua/hang.lua sends every 100th request there). Run with --harakiri 1.
import { HELLO, hangForever, isHangPath } from './work.mjs';

export default {
  async fetch(request) {
    if (isHangPath(new URL(request.url).pathname)) await hangForever();
    return new Response(HELLO, { headers: { 'content-type': 'text/plain' } });
  },
};
