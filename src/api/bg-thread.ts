// The thread side of the background features, shared by request workers and mules: the local
// handler registry (timers, crons and signals run by name), calls to the master that wait for a
// reply (muleMsg, offload), and stable names derived from the call site.
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import { SpindleError, isErrorCode } from '../errors.js';
import { fromWire, toWire, type WireError } from '../protocol/errors.js';
import { threadInfo } from './context.js';
import type { BgToMaster, BgToThread, MuleItem } from '../protocol/background.js';

type Handler = (arg: unknown) => unknown;

const handlers = new Map<string, Handler>();
const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let nextCall = 1;
/** Set by the mule runtime: receives mule items and the drain order. */
let muleHook: ((m: BgToThread) => void) | undefined;

/** True inside a Spindle worker or mule (the background API talks to a master). */
export function hasMaster(): boolean {
  return threadInfo().kind !== 'none';
}

export function sendToMaster(m: BgToMaster): void {
  threadInfo().send({ kind: 'bg', m });
}

/** Sends a request carrying a fresh callId and resolves with the master's reply. */
export function callMaster<T>(build: (callId: number) => BgToMaster): Promise<T> {
  const callId = nextCall++;
  return new Promise<T>((resolve, reject) => {
    calls.set(callId, { resolve: resolve as (v: unknown) => void, reject });
    sendToMaster(build(callId));
  });
}

export function registerHandler(name: string, fn: Handler): void {
  handlers.set(name, fn);
}

export function getHandler(name: string): Handler | undefined {
  return handlers.get(name);
}

export function setMuleHook(fn: (m: BgToThread) => void): void {
  muleHook = fn;
}

/** Master → thread background messages (the worker and mule entries route `[BG, m]` here). */
export function onBgMessage(m: BgToThread): void {
  switch (m.op) {
    case 'run':
      void runHandler(m.runId, m.name, m.arg);
      return;
    case 'reply': {
      const c = calls.get(m.callId);
      if (!c) return;
      calls.delete(m.callId);
      if (m.ok) c.resolve(m.value);
      else c.reject(refusal(m.error ?? { name: 'Error', message: 'the master refused the call' }));
      return;
    }
    default:
      muleHook?.(m);
  }
}

async function runHandler(runId: number, name: string, arg: unknown): Promise<void> {
  const fn = handlers.get(name);
  if (!fn) {
    sendToMaster({ op: 'done', runId, ok: false, missing: true });
    return;
  }
  try {
    await fn(arg);
    sendToMaster({ op: 'done', runId, ok: true });
  } catch (err) {
    sendToMaster({ op: 'done', runId, ok: false, error: toWire(err) });
  }
}

/** The master's refusal of a call as a SpindleError (a code of the table), with the sender's stack. */
function refusal(w: WireError): Error {
  return fromWire(w, isErrorCode(w.code) ? new SpindleError(w.code, w.message) : undefined);
}

/** Runs a mulefunc call item in this thread (mules). */
export async function runCall(item: Extract<MuleItem, { t: 'call' }>): Promise<void> {
  const fn = handlers.get(mulefuncName(item.name));
  if (!fn) throw new SpindleError('TARGET_INVALID', `mulefunc '${item.name}' is not registered in this mule (register it with mulefunc() at import time of the app module)`);
  await (fn as (...a: unknown[]) => unknown)(...item.args);
}

export const mulefuncName = (name: string): string => `mulefunc:${name}`;

const API_DIR = fileURLToPath(new URL('.', import.meta.url));

/**
 * The caller's position outside Spindle's API, as `file:line:col` relative to the working
 * directory: every worker imports the same module, so the same call gets the same name.
 */
export function callSite(): { name: string; file: string } {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const line of stack) {
    const m = /\(?((?:file:\/\/|\/)[^()]*?):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    let file = m[1]!;
    if (file.startsWith('file://')) {
      try { file = fileURLToPath(file.replace(/[?#].*$/, '')); } catch { continue; }
    }
    if (file.startsWith(API_DIR)) continue;
    return { name: `${relative(process.cwd(), file) || file}:${m[2]}:${m[3]}`, file };
  }
  return { name: 'unknown', file: '' };
}

/** Names accepted as targets. */
export const TARGET_RE = /^(worker|workers|active-workers|worker[1-9]\d*|mule|mules|mule[1-9]\d*|farm:[A-Za-z0-9_.-]+)$/;

export function checkTarget(target: string, what: string): string {
  if (!TARGET_RE.test(target)) {
    throw new SpindleError('TARGET_INVALID', `${what}: unknown target '${target}' (worker, workers, active-workers, workerN, mule, muleN, mules, farm:NAME)`);
  }
  return target;
}
