// The one table of Spindle's error codes. Every error a user can see carries one of these codes,
// so logs, tests and docs can refer to it. Any module may import this file.

export const ERROR_CODES = {
  CONFIG_UNKNOWN_OPTION: 'an option name Spindle does not know',
  CONFIG_INVALID_VALUE: 'a value of the wrong type or out of range',
  CONFIG_CONFLICT: 'two options that contradict each other',
  CONFIG_NOT_SUPPORTED: 'an option Spindle knows but does not implement yet',
  CONFIG_FILE: 'a configuration file that cannot be read or parsed',
  CONFIG_APP_NOT_FOUND: 'the app or mule module named by the configuration does not exist',
  APP_LOAD: 'the application module could not be loaded',
  APP_LISTENS: 'the application called listen() itself (Spindle owns the sockets: export the app instead)',
  LISTEN_FAILED: 'an address that cannot be bound (in use, permission denied, not an address of this machine)',
  CACHE_KEY_TOO_LONG: 'a cache key longer than the cache keysize',
  CACHE_VALUE_TOO_LARGE: 'a cache value larger than the cache can hold',
  CACHE_FULL: 'a full cache without an eviction policy',
  CACHE_UNKNOWN: 'a cache name that is not configured',
  CACHE_STORE: 'a cache store file that cannot be read or written, is corrupt, or was saved with another geometry',
  CACHE_NOT_A_NUMBER: 'a math operation on a value that is not a 64-bit integer',
  LOCK_INVALID: 'a lock number outside 0..locks',
  LOCK_NOT_HELD: 'unlocking a lock the caller does not hold',
  LOCK_ALREADY_HELD: 'locking a lock the caller already holds',
  COUNTER_CAPACITY: 'more named counters than the configured capacity',
  COUNTER_NAME: 'a counter name that is empty or too long',
  NOT_IN_SPINDLE: 'an API that only works inside a Spindle server',
  SERVER_STATE: 'an operation the server cannot do in its current state',
  TARGET_INVALID: 'a timer, cron, signal or mule target that does not exist',
  OFFLOAD_TIMEOUT: 'an offload() task that ran past its timeout (its thread was terminated)',
  OFFLOAD_FAILED: 'an offload() task that threw or could not be loaded',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SpindleError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpindleError';
    this.code = code;
  }
}

/**
 * Exit codes of the `spindle` process (uWSGI uses 22 for "no app loaded", and 1 when it cannot
 * bind a socket).
 */
export const EXIT = { OK: 0, CONFIG: 1, LISTEN: 1, APP_LOAD: 22 } as const;
