// Spindle app for the "body1mb" workload: echo the request body (wrk POSTs 1 MiB, bench/lua/post1mb.lua).
export default {
  async fetch(request) {
    const body = await request.arrayBuffer();
    return new Response(body, { headers: { 'content-type': 'application/octet-stream' } });
  },
};
