// An error crossing threads (a handler run that threw, a refused call to the master, an offload
// task, spindle init's probe). Structured clone keeps an Error's message and stack but drops its
// own properties such as `code`, and some paths carry text only; so every path sends this shape
// and rebuilds it with fromWire(). The codes are those of src/errors.ts (not imported: this room
// imports nothing).

export interface WireError {
  name: string;
  message: string;
  /** The stack as the sending thread saw it (it starts with "name: message"). */
  stack?: string;
  code?: string;
}

/** What to log or send for any thrown value: the stack when there is one, else the message. */
export function errorDetail(err: unknown): string {
  return err instanceof Error ? err.stack ?? `${err.name}: ${err.message}` : String(err);
}

export function toWire(err: unknown, code?: string): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), ...(code === undefined ? {} : { code }) };
  const own = (err as { code?: unknown }).code;
  const c = code ?? (typeof own === 'string' ? own : undefined);
  return { name: err.name, message: err.message, ...(err.stack === undefined ? {} : { stack: err.stack }), ...(c === undefined ? {} : { code: c }) };
}

/**
 * The error again, in this thread: its message, code and the sender's stack, on `into` (a coded
 * error the receiver made, which keeps its class and name) or on a plain Error with the sender's name.
 */
export function fromWire(w: WireError, into?: Error): Error & { code?: string } {
  const err: Error & { code?: string } = into ?? Object.assign(new Error(w.message), { name: w.name });
  if (w.stack !== undefined) err.stack = w.stack;
  if (w.code !== undefined && err.code === undefined) err.code = w.code;
  return err;
}
