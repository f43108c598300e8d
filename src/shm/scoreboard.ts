// The scoreboard: one slot per worker (slots 0..workerSlots-1) and per mule (after them).
//
// Every field has exactly ONE writer thread, so writers never lock:
//   master group (the master supervises the threads and counts the requests they report):
//     state, threadId, inFlight, lastExitReason, exitCode, requests, deltaRequests, exceptions,
//     harakiriCount, respawnCount, lastSpawn, tx, busyMs, inRequestSince, deadline, avgRtMs,
//     lastExitAt
//   worker group (the slot's own thread, while `owns()` it): heapUsed, heapLimit, external, label
// The scoreboard is the one store of a slot's state, heap and label: the master reads them here,
// no message carries them.
// Each group has its own seqlock word (odd while a write is in progress); `snapshot(slot)` reads
// both groups lock-free and retries a torn read. `state` and `inFlight` are also readable alone
// with Atomics.load (`state(slot)`). A worker terminated in the middle of a worker-group write
// leaves its seq odd; the master's onThreadExit → `threadExited(tid)` and `spawned()` make it even.
//
// Survive respawns: requests, exceptions, harakiriCount, respawnCount, tx, busyMs, avgRtMs,
// lastExitReason/exitCode/lastExitAt. Reset by `spawned()`: deltaRequests, inRequestSince,
// inFlight, deadline, the whole worker group (heap, label), threadId.
//
// Times: lastSpawn/lastExitAt are epoch ms; inRequestSince, deadline are monotonic ms of the writer's clock (performance.now() + performance.timeOrigin, comparable
// across threads of one process); busyMs and avgRtMs are durations in ms.

import { encodeTruncated } from './bytes.js';

/**
 * The one vocabulary of a supervised thread's state (request worker or mule), as the scoreboard
 * stores it per slot and the master keeps it per thread. Busy or idle is not a state: a ready
 * thread with requests in flight is busy (inFlight).
 */
const THREAD_STATES = [
  'empty',    // no thread has run in the slot yet
  'starting', // loading the app
  'ready',    // serving (a request worker is routable)
  'retiring', // takes no new work; exits when its work is done (or the mercy runs out)
  'zombie',   // terminated by the master, thread not gone yet (stuck in native code)
  'dead',     // exited
] as const;
export type ThreadState = (typeof THREAD_STATES)[number];

export const EXIT_REASONS = [
  'none',
  'normal',
  'harakiri',
  'recycle-requests',
  'recycle-heap',
  'recycle-lifetime',
  'reload',
  'cheaped',
  'error',
  'oom',
  'killed',
] as const;
export type ExitReason = (typeof EXIT_REASONS)[number];

export const LABEL_BYTES = 96;

// Int32 words per slot
const I_STATE = 0;
const I_MSEQ = 1;
const I_WSEQ = 2;
const I_TID = 3;
const I_EXIT = 4;
const I_EXITCODE = 5;
const I_INFLIGHT = 6;
const I_LABELLEN = 7;
const I_LABEL = 8; // LABEL_BYTES bytes follow
const SLOT_I32 = I_LABEL + LABEL_BYTES / 4;
// Float64 words per slot
const F_REQ = 0;
const F_DREQ = 1;
const F_EXC = 2;
const F_HARAKIRI = 3;
const F_RESPAWN = 4;
const F_LASTSPAWN = 5;
const F_TX = 6;
const F_BUSY = 7;
const F_INREQ = 8;
const F_DEADLINE = 9;
const F_AVGRT = 10;
const F_LASTEXITAT = 11;
// worker group
const F_HEAP = 12;
const F_HEAPLIMIT = 13;
const F_EXTERNAL = 14;
const SLOT_F64 = 15;

export function scoreboardBytes(slots: number): number {
  return slots * (SLOT_I32 * 4 + SLOT_F64 * 8);
}

export interface SlotSnapshot {
  slot: number;
  kind: 'worker' | 'mule';
  /** 1-based id within its kind (worker 1.., mule 1..), as uWSGI numbers them */
  id: number;
  state: ThreadState;
  threadId: number;
  inFlight: number;
  requests: number;
  deltaRequests: number;
  exceptions: number;
  harakiriCount: number;
  respawnCount: number;
  lastSpawn: number;
  tx: number;
  busyMs: number;
  inRequestSince: number;
  deadline: number;
  avgRtMs: number;
  lastExitReason: ExitReason;
  exitCode: number;
  lastExitAt: number;
  heapUsed: number;
  heapLimit: number;
  /** Memory the worker's isolate holds outside its V8 heap (Buffers, ArrayBuffers, native objects). */
  external: number;
  label: string;
}

/** Master-group fields that `update()` may set directly. */
export interface MasterFields {
  state?: ThreadState;
  requests?: number;
  deltaRequests?: number;
  exceptions?: number;
  harakiriCount?: number;
  respawnCount?: number;
  lastSpawn?: number;
  tx?: number;
  busyMs?: number;
  inRequestSince?: number;
  deadline?: number;
  avgRtMs?: number;
}

const F_INDEX: Record<keyof Omit<MasterFields, 'state'>, number> = {
  requests: F_REQ,
  deltaRequests: F_DREQ,
  exceptions: F_EXC,
  harakiriCount: F_HARAKIRI,
  respawnCount: F_RESPAWN,
  lastSpawn: F_LASTSPAWN,
  tx: F_TX,
  busyMs: F_BUSY,
  inRequestSince: F_INREQ,
  deadline: F_DEADLINE,
  avgRtMs: F_AVGRT,
};

/** One request a worker served: its duration, bytes sent, and whether it ended in an exception. */
export type CountServed = (ms: number, txBytes: number, exception: boolean) => void;

const dec = new TextDecoder();

export class Scoreboard {
  readonly workerSlots: number;
  readonly muleSlots: number;
  readonly slots: number;
  private readonly i32: Int32Array;
  private readonly u8: Uint8Array;
  private readonly f64: Float64Array;

  constructor(sab: SharedArrayBuffer, offset: number, workerSlots: number, muleSlots: number) {
    this.workerSlots = workerSlots;
    this.muleSlots = muleSlots;
    this.slots = workerSlots + muleSlots;
    this.f64 = new Float64Array(sab, offset, this.slots * SLOT_F64);
    const o = offset + this.slots * SLOT_F64 * 8;
    this.i32 = new Int32Array(sab, o, this.slots * SLOT_I32);
    this.u8 = new Uint8Array(sab, o, this.slots * SLOT_I32 * 4);
  }

  initialise(): void {
    for (let s = 0; s < this.slots; s++) this.i32[s * SLOT_I32 + I_TID] = -1;
  }

  /** Slot index of worker `id` (1-based) or mule `id` (1-based). */
  workerSlot(id: number): number {
    this.check(id - 1);
    return id - 1;
  }
  muleSlot(id: number): number {
    const s = this.workerSlots + id - 1;
    // the master's own mule ids (the configured mules): a bug in Spindle if this fails
    if (id < 1 || id > this.muleSlots) throw new RangeError(`mule ${id} does not exist (1..${this.muleSlots})`);
    return s;
  }

  private check(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) {
      // slots come from the master's own handles, never from a user: a bug in Spindle if this fails
      throw new RangeError(`scoreboard slot ${slot} does not exist (0..${this.slots - 1})`);
    }
  }

  // ---- master-side writers --------------------------------------------------------------

  private mBegin(slot: number): void {
    Atomics.add(this.i32, slot * SLOT_I32 + I_MSEQ, 1);
  }
  private mEnd(slot: number): void {
    Atomics.add(this.i32, slot * SLOT_I32 + I_MSEQ, 1);
  }
  private wBegin(slot: number): void {
    const at = slot * SLOT_I32 + I_WSEQ;
    if ((Atomics.load(this.i32, at) & 1) === 0) Atomics.add(this.i32, at, 1);
  }
  private wEnd(slot: number): void {
    const at = slot * SLOT_I32 + I_WSEQ;
    if ((Atomics.load(this.i32, at) & 1) === 1) Atomics.add(this.i32, at, 1);
  }

  /** Master: a new thread now runs in `slot`. Resets the per-spawn fields (see header). */
  spawned(slot: number, threadId: number, epochMs: number): void {
    this.check(slot);
    const f = slot * SLOT_F64;
    const i = slot * SLOT_I32;
    this.mBegin(slot);
    this.wBegin(slot); // the new thread has not started writing yet
    this.f64[f + F_DREQ] = 0;
    this.f64[f + F_INREQ] = 0;
    this.f64[f + F_DEADLINE] = 0;
    this.f64[f + F_RESPAWN] = this.f64[f + F_RESPAWN]! + 1;
    this.f64[f + F_LASTSPAWN] = epochMs;
    this.f64[f + F_HEAP] = 0;
    this.f64[f + F_HEAPLIMIT] = 0;
    this.f64[f + F_EXTERNAL] = 0;
    this.i32[i + I_LABELLEN] = 0;
    Atomics.store(this.i32, i + I_INFLIGHT, 0);
    Atomics.store(this.i32, i + I_TID, threadId);
    Atomics.store(this.i32, i + I_STATE, THREAD_STATES.indexOf('starting'));
    this.wEnd(slot);
    this.mEnd(slot);
  }

  setState(slot: number, state: ThreadState): void {
    this.check(slot);
    const v = THREAD_STATES.indexOf(state);
    if (v < 0) throw new RangeError(`unknown slot state ${String(state)}`); // a typed ThreadState: a bug if this fails
    Atomics.store(this.i32, slot * SLOT_I32 + I_STATE, v);
  }

  state(slot: number): ThreadState {
    this.check(slot);
    return THREAD_STATES[Atomics.load(this.i32, slot * SLOT_I32 + I_STATE)] ?? 'empty';
  }

  inFlight(slot: number): number {
    this.check(slot);
    return Atomics.load(this.i32, slot * SLOT_I32 + I_INFLIGHT);
  }

  /**
   * Master: requests the worker accepted itself were served (reported in a batch). Only the
   * counters change, not inFlight or state.
   */
  requestsServedByWorker(slot: number, batch: (count: CountServed) => void): void {
    this.check(slot);
    this.mBegin(slot);
    const f64 = this.f64;
    const f = slot * SLOT_F64;
    // `batch` calls this once per request, from the worker's packed report: no object per request.
    batch((ms, txBytes, exception) => {
      f64[f + F_REQ] = f64[f + F_REQ]! + 1;
      f64[f + F_DREQ] = f64[f + F_DREQ]! + 1;
      if (exception) f64[f + F_EXC] = f64[f + F_EXC]! + 1;
      f64[f + F_TX] = f64[f + F_TX]! + txBytes;
      f64[f + F_BUSY] = f64[f + F_BUSY]! + ms;
      f64[f + F_AVGRT] = f64[f + F_AVGRT] === 0 ? ms : (f64[f + F_AVGRT]! + ms) / 2;
    });
    this.mEnd(slot);
  }

  /**
   * Master: the slot's in-flight count as its threads publish it. Sets inFlight and
   * inRequestSince (when the slot turns busy); the state is left alone.
   */
  setInFlight(slot: number, n: number, monoNow: number): void {
    this.check(slot);
    const f = slot * SLOT_F64;
    const i = slot * SLOT_I32;
    const before = Atomics.load(this.i32, i + I_INFLIGHT);
    if (before === n) return;
    this.mBegin(slot);
    Atomics.store(this.i32, i + I_INFLIGHT, n);
    if (n === 0) this.f64[f + F_INREQ] = 0;
    else if (before === 0) this.f64[f + F_INREQ] = monoNow;
    this.mEnd(slot);
  }

  /** Master: harakiri fired on the slot. */
  harakiri(slot: number): void {
    this.check(slot);
    this.mBegin(slot);
    this.f64[slot * SLOT_F64 + F_HARAKIRI]! += 1;
    this.mEnd(slot);
  }

  /** Master: the slot's thread exited. */
  exited(slot: number, reason: ExitReason, exitCode: number, epochMs: number): void {
    this.check(slot);
    const i = slot * SLOT_I32;
    const r = EXIT_REASONS.indexOf(reason);
    if (r < 0) throw new RangeError(`unknown exit reason ${String(reason)}`); // a typed ExitReason: a bug if this fails
    this.mBegin(slot);
    this.i32[i + I_EXIT] = r;
    this.i32[i + I_EXITCODE] = exitCode | 0;
    this.f64[slot * SLOT_F64 + F_LASTEXITAT] = epochMs;
    this.f64[slot * SLOT_F64 + F_INREQ] = 0;
    this.f64[slot * SLOT_F64 + F_DEADLINE] = 0;
    Atomics.store(this.i32, i + I_INFLIGHT, 0);
    Atomics.store(this.i32, i + I_STATE, THREAD_STATES.indexOf('dead'));
    Atomics.store(this.i32, i + I_TID, -1);
    this.wBegin(slot);
    this.wEnd(slot);
    this.mEnd(slot);
  }

  /** Master: set master-group fields directly. */
  update(slot: number, fields: MasterFields): void {
    this.check(slot);
    this.mBegin(slot);
    for (const [k, v] of Object.entries(fields)) {
      if (k === 'state') continue;
      const idx = F_INDEX[k as keyof typeof F_INDEX];
      if (idx === undefined || typeof v !== 'number') throw new RangeError(`scoreboard: cannot set ${k}`); // typed MasterFields: a bug if this fails
      this.f64[slot * SLOT_F64 + idx] = v;
    }
    this.mEnd(slot);
    if (fields.state) this.setState(slot, fields.state);
  }

  /** onThreadExit: close a worker-group write the dead thread left open. */
  threadExited(threadId: number): void {
    for (let s = 0; s < this.slots; s++) {
      if (Atomics.load(this.i32, s * SLOT_I32 + I_TID) === threadId) this.wEnd(s);
    }
  }

  // ---- worker-side writers (the slot's own thread) --------------------------------------------

  /**
   * Whether thread `threadId` owns `slot` (the newest thread spawned in it). A retiring thread
   * beside its replacement does not: it leaves the worker group to the replacement.
   */
  owns(slot: number, threadId: number): boolean {
    this.check(slot);
    return Atomics.load(this.i32, slot * SLOT_I32 + I_TID) === threadId;
  }

  setHeap(slot: number, used: number, limit = 0, external = 0): void {
    this.check(slot);
    this.wBegin(slot);
    this.f64[slot * SLOT_F64 + F_HEAP] = used;
    this.f64[slot * SLOT_F64 + F_HEAPLIMIT] = limit;
    this.f64[slot * SLOT_F64 + F_EXTERNAL] = external;
    this.wEnd(slot);
  }

  /** Set the slot label (uWSGI procname equivalent); truncated to 96 UTF-8 bytes on a char boundary. */
  setLabel(slot: number, label: string): void {
    this.check(slot);
    const b = encodeTruncated(String(label), LABEL_BYTES);
    const i = slot * SLOT_I32;
    this.wBegin(slot);
    this.u8.set(b, (i + I_LABEL) * 4);
    this.i32[i + I_LABELLEN] = b.length;
    this.wEnd(slot);
  }

  // ---- readers (any thread, lock-free) ----------------------------------------------------

  /**
   * The memory thread `threadId` last wrote for `slot` (reload-on-rss watches it); zeros when
   * another thread owns the slot. One number may be a write older than the other: no seqlock,
   * this is read for every worker every tick.
   */
  memory(slot: number, threadId: number): { heapUsed: number; external: number } {
    if (!this.owns(slot, threadId)) return { heapUsed: 0, external: 0 };
    const f = slot * SLOT_F64;
    return { heapUsed: this.f64[f + F_HEAP]!, external: this.f64[f + F_EXTERNAL]! };
  }

  snapshot(slot: number): SlotSnapshot {
    this.check(slot);
    const i = slot * SLOT_I32;
    const f = slot * SLOT_F64;
    const f64 = this.f64;
    const i32 = this.i32;
    let snap: SlotSnapshot | undefined;
    for (let attempt = 0; ; attempt++) {
      const m0 = Atomics.load(i32, i + I_MSEQ);
      const w0 = Atomics.load(i32, i + I_WSEQ);
      const llen = Math.min(LABEL_BYTES, Math.max(0, i32[i + I_LABELLEN]!));
      const label = this.u8.slice((i + I_LABEL) * 4, (i + I_LABEL) * 4 + llen);
      const isWorker = slot < this.workerSlots;
      snap = {
        slot,
        kind: isWorker ? 'worker' : 'mule',
        id: isWorker ? slot + 1 : slot - this.workerSlots + 1,
        state: THREAD_STATES[Atomics.load(i32, i + I_STATE)] ?? 'empty',
        threadId: Atomics.load(i32, i + I_TID),
        inFlight: Atomics.load(i32, i + I_INFLIGHT),
        requests: f64[f + F_REQ]!,
        deltaRequests: f64[f + F_DREQ]!,
        exceptions: f64[f + F_EXC]!,
        harakiriCount: f64[f + F_HARAKIRI]!,
        respawnCount: f64[f + F_RESPAWN]!,
        lastSpawn: f64[f + F_LASTSPAWN]!,
        tx: f64[f + F_TX]!,
        busyMs: f64[f + F_BUSY]!,
        inRequestSince: f64[f + F_INREQ]!,
        deadline: f64[f + F_DEADLINE]!,
        avgRtMs: f64[f + F_AVGRT]!,
        lastExitReason: EXIT_REASONS[i32[i + I_EXIT]!] ?? 'none',
        exitCode: i32[i + I_EXITCODE]!,
        lastExitAt: f64[f + F_LASTEXITAT]!,
        heapUsed: f64[f + F_HEAP]!,
        heapLimit: f64[f + F_HEAPLIMIT]!,
        external: f64[f + F_EXTERNAL]!,
        label: '',
      };
      const m1 = Atomics.load(i32, i + I_MSEQ);
      const w1 = Atomics.load(i32, i + I_WSEQ);
      const stable = m0 === m1 && w0 === w1 && (m0 & 1) === 0 && (w0 & 1) === 0;
      if (stable || attempt >= 100) {
        // after 100 torn attempts (a writer died mid-write) return the best effort
        snap.label = dec.decode(label);
        return snap;
      }
    }
  }

  snapshotAll(): SlotSnapshot[] {
    const out: SlotSnapshot[] = [];
    for (let s = 0; s < this.slots; s++) out.push(this.snapshot(s));
    return out;
  }
}
