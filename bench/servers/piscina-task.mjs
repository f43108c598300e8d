// The piscina task: the same work as bench/apps/*.mjs, in a pool thread.
import { HELLO, cpuWork, ioWork, hangForever, isHangPath } from '../apps/work.mjs';

const text = (body) => ({ status: 200, type: 'text/plain', body });

export default async function task({ workload, url, body }) {
  switch (workload) {
    case 'hello': return text(HELLO);
    case 'cpu2ms': return text(cpuWork());
    case 'io20ms': await ioWork(); return text(HELLO);
    case 'hang1pct': if (isHangPath(url)) await hangForever(); return text(HELLO);
    case 'body1mb': return { status: 200, type: 'application/octet-stream', body };
    default: throw new Error(`unknown workload ${workload}`);
  }
}
