// The cheaper subsystem: adaptive worker count, as pure algorithms the master drives.
export { Cheaper, createAlgorithm, pickVictim } from './cheaper.js';
export { Busyness } from './busyness.js';
export { Spare, BacklogAlgo, Manual } from './simple.js';
export type * from './types.js';
