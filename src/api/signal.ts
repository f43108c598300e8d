// uWSGI-style signals: numbers 0..255 (or names) with one handler each, routed by the master to a
// target. `registerSignal()` runs in every worker (the app module is imported by all of them): the
// master keeps the first target registered for a signal and refuses a different one (logged); the
// handler is known in every thread that imported it. `signal(num)` raises it from anywhere.
import { SpindleError, SpindleTypeError } from '../errors.js';
import { checkTarget, getHandler, hasMaster, registerHandler, sendToMaster } from './bg-thread.js';
import { signalHandlerName, type Target } from '../protocol/background.js';

export type SignalKey = number | string;
export type SignalHandler = (signal: SignalKey) => unknown;

function keyOf(sig: SignalKey, what: string): string {
  if (typeof sig === 'number') {
    if (!Number.isInteger(sig) || sig < 0 || sig > 255) throw new SpindleError('TARGET_INVALID', `${what}: signal numbers are 0..255 (got ${sig})`);
    return String(sig);
  }
  if (typeof sig === 'string' && /^[A-Za-z_][\w.-]{0,62}$/.test(sig)) return sig;
  throw new SpindleError('TARGET_INVALID', `${what}: a signal is a number 0..255 or a name (letters, digits, _ . -; got ${String(sig)})`);
}

/** Registers `fn` for signal `sig`, delivered to `target` (default 'worker'). */
export function registerSignal(sig: SignalKey, target: Target, fn: SignalHandler): void {
  const key = keyOf(sig, 'registerSignal()');
  if (typeof fn !== 'function') throw new SpindleTypeError('INVALID_ARGUMENT', 'registerSignal(): the handler must be a function');
  checkTarget(target || 'worker', 'registerSignal()');
  registerHandler(signalHandlerName(key), fn as (arg: unknown) => unknown);
  if (hasMaster()) sendToMaster({ op: 'signal-reg', key, target: target || 'worker' });
}

/**
 * Raises signal `sig`: the master runs its handler in the registered target. Outside Spindle the
 * local handler runs on the next tick (or it throws when there is none).
 */
export function signal(sig: SignalKey): void {
  const key = keyOf(sig, 'signal()');
  if (hasMaster()) {
    sendToMaster({ op: 'signal', key });
    return;
  }
  const fn = getHandler(signalHandlerName(key));
  if (!fn) throw new SpindleError('TARGET_INVALID', `signal(${key}): no handler registered`);
  setImmediate(() => { void fn(typeof sig === 'number' ? sig : key); });
}
