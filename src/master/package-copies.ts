// The app (or a mule program) imports another copy of the package than the server's (found in
// the threads by api/copies.ts). Said once per process, loudly: every thread finds the same copy.
import type { Log } from '../log/logger.js';

let warned = false;

export function warnOtherCopy(log: Log, server: string, app: string): void {
  if (warned) return;
  warned = true;
  log.warn({ event: 'SPINDLE_PACKAGE_COPIES', server, app },
    `THE APP USES ANOTHER COPY OF SPINDLE: the server runs from ${server}, the app imports 'spindle' from ${app}. ` +
    'That copy is not connected to this server: its workerId() is 0, its cache, locks and counters are private to each worker, ' +
    'and its timers, crons, signals and mules never run. ' +
    "Make the app resolve the server's package: remove the app's own copy (npm ls spindle shows them) and run the server " +
    "from the app's folder (npx spindle), or install the package once.");
}
