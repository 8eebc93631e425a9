/**
 * A growable FIFO on a power-of-two ring: O(1) push and shift without the O(n) cost of
 * `Array.prototype.shift`, and no allocation per item once warmed up. The channel and
 * the run loop both queue on it.
 */
export class Fifo<T> {
  private items: (T | undefined)[]
  private head = 0
  private count = 0
  private mask: number

  constructor(initialCapacity = 16) {
    let size = 4
    while (size < initialCapacity) size *= 2
    this.items = new Array<T | undefined>(size)
    this.mask = size - 1
  }

  get length(): number {
    return this.count
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow()
    this.items[(this.head + this.count) & this.mask] = item
    this.count++
  }

  /** The oldest item, or undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) & this.mask
    this.count--
    return item
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  /** Removes one item (the first equal to `item`); for cancelled waiters, rare. */
  remove(item: T): boolean {
    for (let i = 0; i < this.count; i++) {
      if (this.items[(this.head + i) & this.mask] !== item) continue
      for (let j = i; j < this.count - 1; j++) {
        this.items[(this.head + j) & this.mask] = this.items[(this.head + j + 1) & this.mask]
      }
      this.items[(this.head + this.count - 1) & this.mask] = undefined
      this.count--
      return true
    }
    return false
  }

  /** Empties the queue, returning its items oldest first. */
  drain(): T[] {
    const out: T[] = []
    while (this.count > 0) out.push(this.shift() as T)
    return out
  }

  private grow(): void {
    const old = this.items
    const next = new Array<T | undefined>(old.length * 2)
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & this.mask]
    this.items = next
    this.head = 0
    this.mask = next.length - 1
  }
}
