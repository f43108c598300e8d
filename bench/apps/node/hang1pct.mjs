// Spindle app for the "hang1pct" workload in Node (req, res) form: the very handler the node-http and
// node-cluster setups run (bench/servers/handlers.mjs), so the setups differ only in the server.
import { handlers } from '../../servers/handlers.mjs';

export default handlers['hang1pct'];
