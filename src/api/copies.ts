// Two copies of the package in one thread: the server runs from one, and the app imports
// 'spindle' from another (its own node_modules, a second install). The app's copy has no shared
// core, so its cache and counters are private to each worker and its timers never fire, silently.
// Every copy registers here under a global symbol (shared by all copies in a thread); the first
// to load — the server's, its worker entry imports this before the app — hears of the others.
import { fileURLToPath } from 'node:url';

const COPIES = Symbol.for('spindle.package-copies');

interface Copies {
  /** package folder of the first copy loaded in this thread */
  first: string;
  /** package folders of the other copies, in load order */
  others: string[];
  listener?: (other: string) => void;
}

/** This copy's package folder (this file is dist/src/api/copies.js in it). */
const here = fileURLToPath(new URL('../../../', import.meta.url));
const registry = globalThis as { [COPIES]?: Copies };
const copies = (registry[COPIES] ??= { first: here, others: [] });
if (copies.first !== here && !copies.others.includes(here)) {
  copies.others.push(here);
  copies.listener?.(here);
}

/** The server's side: `listener(folder)` for every other copy loaded in this thread, now or later. */
export function onOtherCopy(listener: (other: string) => void): { own: string } {
  copies.listener = listener;
  for (const other of copies.others) listener(other);
  return { own: copies.first };
}
