// The master's signal table: signal key (0..255 or a name) → target. Every worker registers the
// same signals (each imports the app): identical registrations are counted; a different target
// for a registered signal is refused and logged (uWSGI refuses a second master registration).
// Raising a signal nobody registered is an error in the log, never silent.
import type { Log } from '../log/logger.js';
import { newReg, type Reg, type RunDispatcher } from './runs.js';
import { signalHandlerName, type Target } from '../protocol/background.js';

export class Signals {
  readonly table = new Map<string, { reg: Reg; registeredBy: Set<string> }>();
  raised = 0;
  unrouted = 0;

  constructor(private readonly log: Log, private readonly runs: RunDispatcher) {}

  register(key: string, target: Target, from: string): void {
    const old = this.table.get(key);
    if (old) {
      if (old.reg.target !== target) {
        this.log.error({ event: 'SIGNAL_REFUSED', signal: key, target, registered: old.reg.target, from }, `signal ${key} is already registered for target ${old.reg.target}: registration for ${target} refused`);
        return;
      }
      old.registeredBy.add(from);
      return;
    }
    this.table.set(key, { reg: newReg('signal', key, signalHandlerName(key), target, false), registeredBy: new Set([from]) });
    this.log.info({ event: 'SIGNAL_REGISTERED', signal: key, target, from }, 'signal registered');
  }

  raise(key: string, from: string): void {
    this.raised++;
    const entry = this.table.get(key);
    if (!entry) {
      this.unrouted++;
      this.log.error({ event: 'SIGNAL_UNHANDLED', signal: key, from }, `signal ${key} raised but no handler is registered for it: dropped`);
      return;
    }
    this.log.debug({ event: 'SIGNAL_RAISED', signal: key, from, target: entry.reg.target }, 'signal raised');
    this.runs.dispatch(entry.reg, key);
  }
}
