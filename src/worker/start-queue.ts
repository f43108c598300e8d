// Requests waiting to start, oldest first: behind the concurrency cap (admission.ts) or for the
// next loop turn (turn-budget.ts).

/** Starts a request; false if there was nothing left to start (the client went away). */
export type Start = () => boolean;

export class StartQueue {
  private items: (Start | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(start: Start): void {
    this.items.push(start);
  }

  /** The oldest waiting request, taken off the queue (size > 0). */
  shift(): Start {
    const start = this.items[this.head]!;
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 256 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return start;
  }
}
