// Named atomic signed 64-bit counters: declared in the config, or created on first use within the
// configured capacity (COUNTER_CAPACITY beyond it; COUNTER_NAME for an empty or > 64-byte name).

import { currentCore } from './runtime.js';
import type { SharedCounter } from '../shm/counters.js';

export type { SharedCounter as Counter } from '../shm/counters.js';

/** counter('hits').add(1) → bigint; get(), set(n), compareExchange(expected, replacement) → old value. */
export function counter(name: string): SharedCounter {
  return currentCore().counters.counter(name);
}

/** Every counter and its value (for stats). */
export function listCounters(): { name: string; value: bigint }[] {
  return currentCore().listCounters();
}
