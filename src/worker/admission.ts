// concurrency: a cap on the requests one worker runs at once. Under it a request starts at once
// (Node's own model, the default with no cap); at it, the request waits here, in arrival order,
// until a request of this worker finishes. A waiting request whose client left is skipped.

import { StartQueue, type Start } from './start-queue.js';

export class Admission {
  private readonly waiting = new StartQueue();

  /** @param cap at most this many running requests (0 = no cap) */
  constructor(private readonly cap: number) {}

  get queued(): number {
    return this.waiting.size;
  }

  /** Starts the request now if `running` is under the cap; otherwise queues it. */
  admit(running: number, start: Start): void {
    if ((this.cap === 0 || running < this.cap) && this.waiting.size === 0) start();
    else this.waiting.push(start);
  }

  /** A request finished (`running` are still running): start waiting ones while the cap allows. */
  next(running: number): void {
    while (this.waiting.size > 0 && (this.cap === 0 || running < this.cap)) {
      if (this.waiting.shift()()) running++;
    }
  }
}
