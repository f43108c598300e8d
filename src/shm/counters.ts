// Named atomic signed 64-bit counters.
//
// Region: i32 header [mutex(4), count, pad…] | names: max × (4-byte length + 64 bytes) | values:
// BigInt64Array[max]. Lookups are lock-free (read `count`, compare names below it). Creation takes a
// robust mutex, re-scans, writes the name and only then publishes it by storing count+1: a thread
// that dies while creating leaves `count` unchanged, and the next creator overwrites the half-written
// name. Values are read and written with Atomics only.

import { SpindleError, SpindleRangeError } from '../errors.js';
import { MUTEX_WORDS, mutexLock, mutexUnlock, recoverMutex } from './mutex.js';

export const COUNTER_NAME_BYTES = 64;
const HDR_I32 = 8;
const NAME_STRIDE = 4 + COUNTER_NAME_BYTES; // bytes
const C_COUNT = MUTEX_WORDS;

const align8 = (n: number): number => (n + 7) & ~7;
const enc = new TextEncoder();
const dec = new TextDecoder();

export function counterRegionBytes(max: number): number {
  return align8(HDR_I32 * 4 + max * NAME_STRIDE) + max * 8;
}

export interface SharedCounter {
  readonly name: string;
  /** add n (may be negative); returns the new value. */
  add(n?: bigint | number): bigint;
  get(): bigint;
  set(n: bigint | number): void;
  /** store `replacement` if the value is `expected`; returns the value found (as Atomics does). */
  compareExchange(expected: bigint | number, replacement: bigint | number): bigint;
}

function big(n: bigint | number, what: string): bigint {
  if (typeof n === 'bigint') return BigInt.asIntN(64, n);
  if (Number.isSafeInteger(n)) return BigInt(n);
  throw new SpindleRangeError('INVALID_ARGUMENT', `counter ${what}: expected a bigint or a safe integer, got ${String(n)}`);
}

export class Counters {
  readonly max: number;
  private readonly h: Int32Array;
  private readonly names: Uint8Array;
  private readonly nameView: DataView;
  private readonly values: BigInt64Array;
  private readonly me: number;
  private readonly local = new Map<string, number>();

  constructor(sab: SharedArrayBuffer, offset: number, max: number, ownerId: number) {
    this.max = max;
    this.me = ownerId;
    this.h = new Int32Array(sab, offset, HDR_I32);
    this.names = new Uint8Array(sab, offset + HDR_I32 * 4, max * NAME_STRIDE);
    this.nameView = new DataView(sab, offset + HDR_I32 * 4, max * NAME_STRIDE);
    this.values = new BigInt64Array(sab, offset + align8(HDR_I32 * 4 + max * NAME_STRIDE), max);
  }

  private encodeName(name: string): Uint8Array {
    if (typeof name !== 'string' || name.length === 0) {
      throw new SpindleError('COUNTER_NAME', `counter name must be a non-empty string, got ${JSON.stringify(name)}`);
    }
    const b = enc.encode(name);
    if (b.length > COUNTER_NAME_BYTES) {
      throw new SpindleError('COUNTER_NAME', `counter name ${JSON.stringify(name)} is ${b.length} bytes; the limit is ${COUNTER_NAME_BYTES}`);
    }
    return b;
  }

  private scan(b: Uint8Array, from: number, to: number): number {
    for (let i = from; i < to; i++) {
      const o = i * NAME_STRIDE;
      if (this.nameView.getInt32(o, true) !== b.length) continue;
      let j = 0;
      while (j < b.length && this.names[o + 4 + j] === b[j]) j++;
      if (j === b.length) return i;
    }
    return -1;
  }

  /** Index of `name`, creating it if needed. */
  indexOf(name: string, create = true): number {
    const cached = this.local.get(name);
    if (cached !== undefined) return cached;
    const b = this.encodeName(name);
    let i = this.scan(b, 0, Atomics.load(this.h, C_COUNT));
    if (i < 0) {
      if (!create) return -1;
      mutexLock(this.h, 0, this.me); // a recovered lock needs no repair: `count` is the commit point
      try {
        const count = Atomics.load(this.h, C_COUNT);
        i = this.scan(b, 0, count);
        if (i < 0) {
          if (count >= this.max) {
            throw new SpindleError(
              'COUNTER_CAPACITY',
              `cannot create counter ${JSON.stringify(name)}: all ${this.max} counters are in use; raise the counter capacity in the config`,
            );
          }
          const o = count * NAME_STRIDE;
          this.names.fill(0, o + 4, o + NAME_STRIDE);
          this.names.set(b, o + 4);
          this.nameView.setInt32(o, b.length, true);
          Atomics.store(this.values, count, 0n);
          Atomics.store(this.h, C_COUNT, count + 1);
          i = count;
        }
      } finally {
        mutexUnlock(this.h, 0, this.me);
      }
    }
    this.local.set(name, i);
    return i;
  }

  counter(name: string): SharedCounter {
    const i = this.indexOf(name);
    const v = this.values;
    return {
      name,
      add: (n: bigint | number = 1n) => {
        const d = big(n, name);
        return BigInt.asIntN(64, Atomics.add(v, i, d) + d);
      },
      get: () => Atomics.load(v, i),
      set: (n: bigint | number) => {
        Atomics.store(v, i, big(n, name));
      },
      compareExchange: (e: bigint | number, r: bigint | number) => Atomics.compareExchange(v, i, big(e, name), big(r, name)),
    };
  }

  list(): { name: string; value: bigint }[] {
    const out: { name: string; value: bigint }[] = [];
    const n = Atomics.load(this.h, C_COUNT);
    for (let i = 0; i < n; i++) {
      const o = i * NAME_STRIDE;
      const len = this.nameView.getInt32(o, true);
      out.push({ name: dec.decode(this.names.slice(o + 4, o + 4 + len)), value: Atomics.load(this.values, i) });
    }
    return out;
  }

  recoverOwner(deadOwner: number): boolean {
    if (recoverMutex(this.h, 0, deadOwner)) {
      Atomics.store(this.h, 1, 0); // nothing to repair; clear the dirty flag
      return true;
    }
    return false;
  }
}
