// concurrency: a cap on the requests one worker runs at once. Under it a request starts at once
// (Node's own model, the default with no cap); at it, the request waits here, in arrival order,
// until a request of this worker finishes. A waiting request whose client left is skipped.

/** Starts a request; false if there was nothing left to start (the client went away). */
export type Start = () => boolean;

export class Admission {
  private waiting: (Start | undefined)[] = [];
  private head = 0;

  /** @param cap at most this many running requests (0 = no cap) */
  constructor(private readonly cap: number) {}

  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** Starts the request now if `running` is under the cap; otherwise queues it. */
  admit(running: number, start: Start): void {
    if ((this.cap === 0 || running < this.cap) && this.queued === 0) start();
    else this.waiting.push(start);
  }

  /** A request finished (`running` are still running): start waiting ones while the cap allows. */
  next(running: number): void {
    while (this.queued > 0 && (this.cap === 0 || running < this.cap)) {
      const start = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined;
      if (start()) running++;
    }
    if (this.head > 256 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
  }
}
