// Mules: extra threads for background work, fed by messages the master queues for them.
//
//   muleMsg(value, target?)   from anywhere in Spindle: queue any structured-cloneable value for
//                             a mule. target: none / 0 / 'mule' = the least loaded mule, N or
//                             'muleN' = mule N, 'NAME' or 'farm:NAME' = the least loaded mule of
//                             that farm. Resolves false when that queue is full (mule-msg-queue).
//   mulefunc(fn, {target})    a fire-and-forget function that runs in a mule: call it anywhere,
//                             it is queued like a message and run by the mule (by name: register
//                             it at import time of a module every thread imports, e.g. the app).
//   inside a mule:            getMsg({timeout}), messages() (async iterator), muleId(), inFarm()
//   onMuleMessage(fn)         the handler of plain messages in generic mules (`mules = N`).
import { SpindleError, SpindleTypeError } from '../errors.js';
import {
  callMaster, callSite, hasMaster, mulefuncName, registerHandler, runCall, sendToMaster, setMuleHook,
} from './bg-thread.js';
import type { BgToThread, MuleItem } from '../protocol/background.js';

export type MuleTarget = number | string | undefined;

function checkMuleTarget(target: MuleTarget, what: string): MuleTarget {
  if (target === undefined || target === 0 || target === 'mule') return undefined;
  if (typeof target === 'number' && Number.isInteger(target) && target > 0) return target;
  if (typeof target === 'string' && /^(mule[1-9]\d*|farm:[A-Za-z0-9_.-]+|[A-Za-z0-9_.-]+)$/.test(target)) return target;
  throw new SpindleError('TARGET_INVALID', `${what}: a mule target is a mule number (1..), 'muleN', a farm name or 'farm:NAME' (got ${String(target)})`);
}

/** Queues `value` for a mule; false when the target's queue is full. */
export function muleMsg(value: unknown, target?: MuleTarget): Promise<boolean> {
  if (value === undefined) return Promise.reject(new SpindleTypeError('INVALID_ARGUMENT', 'muleMsg(undefined): undefined is what getMsg() returns on timeout; send something else'));
  return send({ t: 'msg', value }, checkMuleTarget(target, 'muleMsg()'));
}

function send(item: MuleItem, target: MuleTarget): Promise<boolean> {
  if (!hasMaster()) return Promise.reject(new SpindleError('NOT_IN_SPINDLE', 'mule messages need a Spindle server with mules'));
  return callMaster<boolean>((callId) => ({ op: 'mule-msg', callId, item, target }));
}

export interface MulefuncOptions {
  /** Name the mules know it by; default: the function's name, else its call site. */
  name?: string;
  /** Which mule(s): as muleMsg's target. */
  target?: MuleTarget;
}

/**
 * Turns `fn` into a fire-and-forget call that runs in a mule. The returned function queues the
 * call and resolves true (queued) or false (queue full); the result of `fn` is not returned.
 * Outside Spindle it runs `fn` in-process on the next tick and resolves true.
 */
export function mulefunc<A extends unknown[]>(fn: (...args: A) => unknown, opts: MulefuncOptions = {}): (...args: A) => Promise<boolean> {
  if (typeof fn !== 'function') throw new SpindleTypeError('INVALID_ARGUMENT', 'mulefunc(): expected a function');
  const name = opts.name ?? (fn.name || `mulefunc@${callSite().name}`);
  const target = checkMuleTarget(opts.target, 'mulefunc()');
  registerHandler(mulefuncName(name), fn as (...a: unknown[]) => unknown as (arg: unknown) => unknown);
  return (...args: A) => {
    if (!hasMaster()) {
      setImmediate(() => { void fn(...args); });
      return Promise.resolve(true);
    }
    return send({ t: 'call', name, args }, target);
  };
}

// ---- inside a mule ---------------------------------------------------------------------------

interface MuleState { id: number; farms: string[] }
let mule: MuleState | undefined;
let plainHandler: ((value: unknown) => unknown) | undefined;
let nextPull = 1;
/** The pending pull: resolved by an item or the drain order. */
let waiting: { pullId: number; resolve: (i: MuleItem | null) => void } | undefined;
/** Items that arrived for a pull that had timed out: the next getMsg takes them first. */
const early: MuleItem[] = [];
let drained = false;

/** Called by the mule entry before the app and the mule program load. */
export function installMule(state: MuleState): void {
  mule = state;
  setMuleHook((m: BgToThread) => {
    if (m.op === 'item') {
      if (waiting && waiting.pullId === m.pullId) {
        const w = waiting;
        waiting = undefined;
        w.resolve(m.item);
      } else {
        early.push(m.item);
      }
    } else if (m.op === 'drain') {
      drained = true;
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w.resolve(null);
      }
    }
  });
}

/** This mule's id (1..), or 0 outside a mule. */
export function muleId(): number {
  return mule?.id ?? 0;
}

/** In a mule: does it belong to farm `name` (any farm when omitted)? */
export function inFarm(name?: string): boolean {
  if (!mule) return false;
  return name === undefined ? mule.farms.length > 0 : mule.farms.includes(name);
}

/** Generic mules (`mules = N`): the handler of plain (non-mulefunc) messages. */
export function onMuleMessage(fn: (value: unknown) => unknown): void {
  plainHandler = fn;
}
export function getPlainHandler(): ((value: unknown) => unknown) | undefined {
  return plainHandler;
}

/**
 * The next queued item (or null: drained for shutdown; undefined: timeout). Asking for the next
 * item tells the master the previous one is handled (mule-harakiri times that handling).
 */
export function nextItem(timeoutMs = -1): Promise<MuleItem | null | undefined> {
  if (early.length) return Promise.resolve(early.shift()!);
  if (drained) return Promise.resolve(null);
  const pullId = nextPull++;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    waiting = { pullId, resolve: (i) => { if (timer) clearTimeout(timer); resolve(i); } };
    sendToMaster({ op: 'pull', pullId });
    if (timeoutMs >= 0) {
      timer = setTimeout(() => {
        if (waiting?.pullId !== pullId) return;
        waiting = undefined;
        sendToMaster({ op: 'cancel-pull', pullId });
        resolve(undefined);
      }, timeoutMs);
    }
  });
}

function requireMule(what: string): void {
  if (!mule) throw new SpindleError('NOT_IN_SPINDLE', `${what} only works inside a mule`);
}

/**
 * Inside a mule: the next message, waiting at most `timeout` ms (default: forever). Resolves
 * undefined on timeout and null when the server drains the mules for shutdown. mulefunc calls
 * queued for this mule are run here, in order, and never returned.
 */
export async function getMsg(opts: { timeout?: number } = {}): Promise<unknown> {
  requireMule('getMsg()');
  const deadline = opts.timeout !== undefined && opts.timeout >= 0 ? Date.now() + opts.timeout : -1;
  for (;;) {
    const left = deadline < 0 ? -1 : Math.max(0, deadline - Date.now());
    const item = await nextItem(left);
    if (item === null || item === undefined) return item;
    if (item.t === 'msg') return item.value;
    try {
      await runCall(item);
    } catch (err) {
      console.error(err);
    }
  }
}

/** Inside a mule: every message until the server drains the mules (then the loop ends). */
export async function* messages(): AsyncGenerator<unknown, void, undefined> {
  requireMule('messages()');
  for (;;) {
    const v = await getMsg();
    if (v === null) return;
    if (v !== undefined) yield v;
  }
}
