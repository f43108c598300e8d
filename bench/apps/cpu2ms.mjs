// Spindle app for the "cpu2ms" workload: SHA-256 over 34 x 64 KiB per request.
import { cpuWork } from './work.mjs';

export default {
  fetch() {
    return new Response(cpuWork(), { headers: { 'content-type': 'text/plain' } });
  },
};
