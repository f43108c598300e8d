// A mule thread: attach the shared core, import the app (so its mulefunc, signal and timer
// handlers exist here too, as in uWSGI's non-lazy mode), then either run the mule program
// (`mule = path.js`: its default export gets an async iterator of messages) or the generic loop
// (`mules = N`: run mulefunc calls, hand plain messages to onMuleMessage()).
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { installThreadInfo, setThreadName } from '../api/context.js';
import { installSharedCore } from '../api/runtime.js';
import { onOtherCopy } from '../api/copies.js';
import { onBgMessage, runCall, sendToMaster } from '../api/bg-thread.js';
import { installMule, messages, nextItem, getMsg, getPlainHandler } from '../api/mule.js';
import { BG, type BgToThread } from '../protocol/background.js';
import { CONTROL } from '../protocol/worker.js';
import type { MuleBoot } from '../protocol/mule.js';
import type { SharedCoreHandle } from '../shm/layout.js';
import { createLazyLogger } from '../log/logger.js';
import { SpindleError } from '../errors.js';

const port = parentPort!;
const boot = workerData as MuleBoot;
const log = createLazyLogger({ level: boot.logLevel, format: boot.logFormat, fd: boot.logFd, base: { mule: boot.muleId } });

installSharedCore(boot.shared as SharedCoreHandle);
installThreadInfo({ kind: 'mule', workerId: 0, send: (m) => port.postMessage([CONTROL, m]) });
installMule({ id: boot.muleId, farms: boot.farms });
setThreadName(boot.threadName);
// Before the app and the mule program load: another copy of 'spindle' in them is reported.
const { own } = onOtherCopy((app) => port.postMessage([CONTROL, { kind: 'other-copy', server: own, app }]));
port.on('message', (m: [number, BgToThread]) => { if (m[0] === BG) onBgMessage(m[1]); });

async function generic(): Promise<void> {
  for (;;) {
    const item = await nextItem();
    if (item === null) return;
    if (item === undefined) continue;
    try {
      if (item.t === 'call') {
        await runCall(item);
      } else {
        const h = getPlainHandler();
        if (h) await h(item.value);
        else log.error({ event: 'MULE_NO_HANDLER', mule: boot.muleId, type: typeof item.value }, 'generic mule received a plain message but the app registered no onMuleMessage() handler: dropped');
      }
    } catch (err) {
      log.error({ event: 'MULE_TASK_FAILED', err }, 'mule task failed');
    }
  }
}

async function main(): Promise<void> {
  if (boot.appPath) await import(pathToFileURL(boot.appPath).href);
  sendToMaster({ op: 'ready' });
  if (!boot.program) {
    await generic();
    process.exit(0);
  }
  const ns = (await import(pathToFileURL(boot.program).href)) as Record<string, unknown>;
  const program = ns.default;
  if (typeof program !== 'function') {
    throw new SpindleError('APP_LOAD', `mule program ${boot.program} must export default an (async) function (messages, ctx) => …`);
  }
  await program(messages(), { id: boot.muleId, farms: boot.farms, getMsg });
  process.exit(0);
}

main().catch((err: unknown) => {
  log.error({ event: 'MULE_FAILED', err }, 'mule failed');
  process.exit(1);
});
