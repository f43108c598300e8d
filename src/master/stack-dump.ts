// harakiri-verbose: read a stuck worker thread's JavaScript stack before it is terminated, the
// way uWSGI's tracebacker does for Python. The in-process inspector can attach to a worker thread
// and pause it between two JS instructions (no --inspect flag needed); a thread stuck in native
// code cannot be paused, so the dump gives up after a deadline.
import { Session } from 'node:inspector';

interface CallFrame {
  functionName: string;
  url: string;
  location: { scriptId: string; lineNumber: number; columnNumber: number };
}

/** Resolves with the stack as text lines (innermost first), or null if it could not be read. */
export async function dumpWorkerStack(threadId: number, timeoutMs = 1000): Promise<string[] | null> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => {
      session.post(method, params as never, (err, result) => (err ? reject(err) : resolve(result)));
    });
  let workerSession = '';
  let nextId = 1;
  const scripts = new Map<string, string>(); // scriptId → url: paused frames carry only the id
  try {
    const stack = await new Promise<string[] | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      session.on('NodeWorker.attachedToWorker', (msg: { params: { sessionId: string; workerInfo: { workerId: string } } }) => {
        if (Number(msg.params.workerInfo.workerId) !== threadId || workerSession) return;
        workerSession = msg.params.sessionId;
        const send = (method: string) => post('NodeWorker.sendMessageToWorker', {
          sessionId: workerSession,
          message: JSON.stringify({ id: nextId++, method }),
        }).catch(() => {});
        void send('Debugger.enable').then(() => send('Debugger.pause'));
      });
      session.on('NodeWorker.receivedMessageFromWorker', (msg: { params: { sessionId: string; message: string } }) => {
        if (msg.params.sessionId !== workerSession) return;
        const inner = JSON.parse(msg.params.message) as { method?: string; params?: { callFrames: CallFrame[]; scriptId: string; url: string } };
        if (inner.method === 'Debugger.scriptParsed' && inner.params) scripts.set(inner.params.scriptId, inner.params.url);
        if (inner.method !== 'Debugger.paused' || !inner.params) return;
        clearTimeout(timer);
        resolve(inner.params.callFrames.map((f) =>
          `${f.functionName || '<anonymous>'} (${f.url || scripts.get(f.location.scriptId) || '?'}:${f.location.lineNumber + 1}:${f.location.columnNumber + 1})`));
      });
      post('NodeWorker.enable', { waitForDebuggerOnStart: false }).catch(() => { clearTimeout(timer); resolve(null); });
    });
    return stack;
  } finally {
    // A paused thread cannot be terminated: detach first (node20-facts §5).
    if (workerSession) await post('NodeWorker.detach', { sessionId: workerSession }).catch(() => {});
    await post('NodeWorker.disable').catch(() => {});
    session.disconnect();
  }
}
