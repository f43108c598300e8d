// The backlog: requests waiting for a free worker slot, first in, first out. Bounded by `listen`;
// its length is what the cheaper algorithms read as "backlog" (it works for UNIX sockets too,
// unlike uWSGI's TCP_INFO probe).
import type { Exchange } from '../front/exchange.js';

export class Backlog {
  private items: (Exchange | undefined)[] = [];
  private head = 0;

  constructor(readonly limit: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get full(): boolean {
    return this.length >= this.limit;
  }

  push(ex: Exchange): void {
    this.items.push(ex);
  }

  /** The oldest request still wanted (the client may have gone away while it waited). */
  shift(): Exchange | undefined {
    while (this.head < this.items.length) {
      const ex = this.items[this.head];
      this.items[this.head++] = undefined;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (ex && !ex.done) return ex;
    }
    return undefined;
  }

  /** Takes every waiting request out (shutdown). */
  drain(): Exchange[] {
    const out: Exchange[] = [];
    for (let ex = this.shift(); ex; ex = this.shift()) out.push(ex);
    return out;
  }
}
