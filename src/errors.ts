// The one table of Spindle's error codes. Every error a user (app author, embedder, CLI user) can
// meet carries one of these codes in `err.code`, so logs, tests and docs can refer to it; the README
// lists them (generated from this table by scripts/gen-readme.mjs, checked by
// test/errors.test.ts). Any module may import this file; it imports nothing.

interface ErrorSpec {
  /** What the code means, as a noun phrase (the README prints it). */
  readonly description: string;
  /** The message, with `{name}` placeholders that errorMessage() fills in; where the wording is fixed. */
  readonly message?: string;
  /** The HTTP status a client sees when this error ends a request. */
  readonly status?: number;
}

export const ERRORS = {
  INVALID_ARGUMENT: { description: 'an API call with an argument of the wrong type or out of range (a TypeError or RangeError that carries this code)' },
  CONFIG_UNKNOWN_OPTION: { description: 'an option name Spindle does not know' },
  CONFIG_INVALID_VALUE: { description: 'a value of the wrong type or out of range' },
  CONFIG_CONFLICT: { description: 'two options that contradict each other' },
  CONFIG_NOT_SUPPORTED: { description: 'an option Spindle knows but does not implement yet' },
  CONFIG_FILE: { description: 'a configuration file that cannot be read or parsed' },
  CONFIG_APP_NOT_FOUND: { description: 'the app or mule module named by the configuration does not exist' },
  APP_LOAD: { description: 'the application (or a mule program) could not be loaded; with need-app = false, requests are answered 503 until it loads', status: 503 },
  APP_LISTENS: { description: 'the application called listen() itself (Spindle owns the sockets: export the app instead)' },
  APP_RESPONSE: { description: 'a handler that answered with something that is not a response (the client gets a 500)', status: 500 },
  REQUEST_ABORTED: { description: 'the reason of a request\'s AbortSignal when Spindle aborts it: its client went away, or it ran past its harakiri limit', message: 'request aborted by the server ({why})' },
  LISTEN_FAILED: { description: 'an address that cannot be bound (in use, permission denied, not an address of this machine)' },
  RELOAD_FAILED: { description: 'a full reload whose handover between the old and the new process broke off' },
  STATS_UNREADABLE: { description: '`spindle stats`/`top` got no stats document (no answer in time, an HTTP error status, or not JSON)' },
  CACHE_KEY_TOO_LONG: { description: 'a cache key longer than the cache keysize' },
  CACHE_VALUE_TOO_LARGE: { description: 'a cache value larger than the cache can hold' },
  CACHE_FULL: { description: 'a full cache without an eviction policy' },
  CACHE_UNKNOWN: { description: 'a cache name that is not configured', message: 'cache "{name}" is not configured; configured caches: {known}' },
  CACHE_STORE: { description: 'a cache store file that cannot be read or written, is corrupt, or was saved with another geometry' },
  CACHE_NOT_A_NUMBER: { description: 'a math operation on a value that is not a 64-bit integer' },
  LOCK_INVALID: { description: 'a lock number outside 0..locks' },
  LOCK_NOT_HELD: { description: 'unlocking a lock the caller does not hold' },
  LOCK_ALREADY_HELD: { description: 'locking a lock the caller already holds' },
  COUNTER_CAPACITY: { description: 'more named counters than the configured capacity' },
  COUNTER_NAME: { description: 'a counter name that is empty or too long' },
  NOT_IN_SPINDLE: { description: 'an API that only works inside a Spindle server (or inside a mule, a request)' },
  SHARED_CORE: { description: 'a shared-memory handle that is not a Spindle one, is from another build, or is not initialised' },
  SERVER_STATE: { description: 'an operation the server cannot do in its current state or setup (e.g. scale() without cheaper)' },
  TARGET_INVALID: { description: 'a timer, cron, signal or mule target that does not exist' },
  OFFLOAD_TIMEOUT: { description: 'an offload() task that ran past its timeout (its thread was terminated)', message: 'offload task ran past its {ms} ms timeout; its thread was terminated' },
  OFFLOAD_FAILED: { description: 'an offload() task that threw or could not be loaded' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * Configuration warnings: a setting that is valid but will not do what it seems to. The one list of
 * them: `spindle check` prints each with its code (and --json gives it), and a server logs each as a
 * log line whose `event` is the code (src/log/events.ts takes them from here, so the README's log
 * event list describes them).
 */
export const CONFIG_WARNINGS = {
  CONFIG_NO_EFFECT: 'an option that has no effect because the option it depends on is off (e.g. chmod-socket without a UNIX socket)',
  CONFIG_LOG_LEVEL_HIDES: 'log-level above info drops the lines log-4xx, log-5xx or log-slow promise (4xx lines are logged at warn, 5xx at error)',
  CONFIG_LISTEN_BELOW_BACKLOG_ALERT: 'a listen queue smaller than cheaper-busyness-backlog-alert: it can never hold enough connections for the alert to fire',
  CONFIG_UNKNOWN_IGNORED: 'an unknown option, ignored because strict = false',
  CONFIG_NO_APP: '`spindle check`: no app is configured, or it does not resolve (with need-app = false the server would answer 503 until it appears)',
} as const satisfies Record<string, string>;

export type ConfigWarningCode = keyof typeof CONFIG_WARNINGS;

/** Code → description (the table without templates and statuses). */
export const ERROR_CODES = Object.fromEntries(Object.entries(ERRORS).map(([c, s]) => [c, s.description])) as { readonly [C in ErrorCode]: string };

export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ERRORS, code);

/** The HTTP status a client sees when an error with this code ends its request, if any. */
export const httpStatus = (code: ErrorCode): number | undefined => (ERRORS[code] as ErrorSpec).status;

/** The message template of `code`, with each `{name}` replaced by `vars[name]`. */
export function errorMessage(code: ErrorCode, vars: Record<string, string | number> = {}): string {
  const template = (ERRORS[code] as ErrorSpec).message;
  if (template === undefined) throw new Error(`${code} has no message template`); // a bug in Spindle, not in its user
  return template.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? `{${k}}`));
}

export class SpindleError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpindleError';
    this.code = code;
  }
}

/** A TypeError with a code: JavaScript's convention for an argument of the wrong type. */
export class SpindleTypeError extends TypeError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TypeError';
    this.code = code;
  }
}

/** A RangeError with a code: JavaScript's convention for a value out of range. */
export class SpindleRangeError extends RangeError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RangeError';
    this.code = code;
  }
}

/** The README section that lists every code (between <!-- errors:start --> and <!-- errors:end -->). */
export function renderErrorsMarkdown(): string {
  const rows = Object.entries(ERRORS).map(([code, s]: [string, ErrorSpec]) =>
    `| \`${code}\` | ${s.description.replace(/\|/g, '\\|')} | ${s.status ?? ''} |`);
  return [
    '<!-- generated from src/errors.ts by `node scripts/gen-readme.mjs`; do not edit by hand -->',
    '',
    '| `err.code` | meaning | HTTP status |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

const START = '<!-- errors:start -->';
const END = '<!-- errors:end -->';

/** The generated section of a README, or undefined without the markers. */
export function errorsSection(readme: string): string | undefined {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  return a < 0 || b < a ? undefined : readme.slice(a + START.length + 1, b);
}

/** The README with its generated section replaced (the markers must be there). */
export function updateErrorsSection(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README lacks ${START} / ${END}`); // a maintainer's script, not a user's
  return `${readme.slice(0, a + START.length)}\n${renderErrorsMarkdown()}${readme.slice(b)}`;
}

/**
 * Exit codes of the `spindle` process (uWSGI uses 22 for "no app loaded", and 1 when it cannot
 * bind a socket).
 */
export const EXIT = { OK: 0, CONFIG: 1, LISTEN: 1, APP_LOAD: 22 } as const;
