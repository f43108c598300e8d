// An unordered list of objects that each know their own slot in it (a worker's requests in flight,
// its connections), so adding and removing allocate nothing and take constant time. A Map keyed by
// request id did the same job, but its table was reallocated as it grew and shrank with every wave
// of requests; under load those tables were a third of what survived the young-generation GC.

export interface Slotted {
  /** Its index in the list; -1 when not in it. */
  slot: number;
}

export class SlotList<T extends Slotted> {
  private readonly items: (T | undefined)[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The item at `i` (0 <= i < size), for a loop that does not add or remove while it runs. */
  at(i: number): T {
    return this.items[i]!;
  }

  has(item: T): boolean {
    return item.slot >= 0;
  }

  add(item: T): void {
    item.slot = this.count;
    this.items[this.count++] = item;
  }

  /** Removes `item`; false if it was not in the list. The last item takes its slot. */
  remove(item: T): boolean {
    const i = item.slot;
    if (i < 0) return false;
    const last = this.items[--this.count]!;
    this.items[i] = last;
    last.slot = i;
    this.items[this.count] = undefined;
    item.slot = -1;
    return true;
  }

  find(match: (item: T) => boolean): T | undefined {
    for (let i = 0; i < this.count; i++) if (match(this.items[i]!)) return this.items[i];
    return undefined;
  }

  /** A copy of the items, for a loop that may remove them as it goes. */
  snapshot(): T[] {
    return this.items.slice(0, this.count) as T[];
  }
}
