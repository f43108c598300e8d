// inc/dec/mul/div: an item holding an 8-byte signed 64-bit integer (little-endian, native order),
// updated in place under the cache lock. Results wrap like int64.

import { SpindleError, SpindleRangeError } from '../../errors.js';
import type { Bytesish } from '../bytes.js';
import { setExpiry } from './expiry.js';
import { journalSlot, journalEnd } from './journal.js';
import { touch } from './lru.js';
import { type CacheViews, ItemWords, Item } from './views.js';

export type MathOp = 'inc' | 'dec' | 'mul' | 'div';

// One thread-local staging area: every use is synchronous and under the cache lock.
const num8 = new Uint8Array(8);
const num64 = new BigInt64Array(num8.buffer);

/** The math operand as a bigint. RangeError for anything else than a bigint or a safe integer. */
export function mathOperand(v: CacheViews, by: bigint | number): bigint {
  if (typeof by === 'bigint') return by;
  if (Number.isSafeInteger(by)) return BigInt(by);
  throw new SpindleRangeError('INVALID_ARGUMENT', `cache "${v.name}": math operand must be a bigint or a safe integer, got ${String(by)}`);
}

export function applyMath(v: CacheViews, op: MathOp, x: bigint, d: bigint): bigint {
  switch (op) {
    case 'inc': return BigInt.asIntN(64, x + d);
    case 'dec': return BigInt.asIntN(64, x - d);
    case 'mul': return BigInt.asIntN(64, x * d);
    default:
      if (d === 0n) throw new SpindleRangeError('INVALID_ARGUMENT', `cache "${v.name}": division by zero`);
      return BigInt.asIntN(64, x / d);
  }
}

/** Item s's value as a number. CACHE_NOT_A_NUMBER when it is not 8 bytes. */
export function readNumber(v: CacheViews, s: number, key: Bytesish): bigint {
  const o = s * ItemWords.I32;
  const vlen = v.it[o + Item.ValueLen]!;
  if (vlen !== 8) {
    throw new SpindleError(
      'CACHE_NOT_A_NUMBER',
      `cache "${v.name}": the value of ${typeof key === 'string' ? JSON.stringify(key) : 'this key'} is ${vlen} bytes, not an 8-byte signed 64-bit integer`,
    );
  }
  const b = v.it[o + Item.Block]! * v.spec.blocksize;
  for (let i = 0; i < 8; i++) num8[i] = v.data8[b + i]!;
  return num64[0]!;
}

/** Store n into item s (already 8 bytes), journaled; expires -1 keeps its expiry. */
export function writeNumber(v: CacheViews, s: number, n: bigint, expires: number): void {
  num64[0] = n;
  journalSlot(v, s);
  v.data8.set(num8, v.it[s * ItemWords.I32 + Item.Block]! * v.spec.blocksize);
  if (expires >= 0) setExpiry(v, s, expires);
  if (v.spec.purgeLru) touch(v, s);
  journalEnd(v);
}

/** The 8 bytes of a new number item. */
export function numberBytes(n: bigint): Uint8Array {
  num64[0] = n;
  return num8.slice();
}
