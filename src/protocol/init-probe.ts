// What `spindle init`'s probe thread (src/cli/init-probe.ts) posts back to src/cli/init.ts.
import type { WireError } from './errors.js';

export interface ProbeResult { ok: true; ms: number; heapBytes: number; kind: string }
export interface ProbeFailure { ok: false; error: WireError }
