// Spindle app for the "hello" workload (fetch-handler form).
import { HELLO } from './work.mjs';

export default {
  fetch() {
    return new Response(HELLO, { headers: { 'content-type': 'text/plain' } });
  },
};
