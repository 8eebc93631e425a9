/**
 * Releases the acknowledgements of one connection in the order its PUBLISH packets
 * arrived ([MQTT-4.6.0-2]: PUBACKs in receive order), even when the store's commits
 * call `ack()` out of order. A failed ack fails the whole connection: every entry still
 * waiting is released with the error and later entries too, because the connection is
 * dropped so that the sender redelivers.
 */
export type Release = (err?: Error) => void

interface Entry {
  readonly release: Release
  acked: boolean
}

export class AckSequence {
  private readonly queue: Entry[] = []
  private head = 0
  private failure: Error | undefined

  constructor(private readonly onFail: (err: Error) => void) {}

  /** Registers one message; returns its idempotent ack function. */
  add(release: Release): (err?: Error | null) => void {
    const entry: Entry = { release, acked: false }
    if (this.failure) {
      release(this.failure)
      return () => {}
    }
    this.queue.push(entry)
    return (err?: Error | null) => {
      if (entry.acked) return
      entry.acked = true
      if (err) this.fail(err)
      else this.flush()
    }
  }

  get pending(): number {
    return this.queue.length - this.head
  }

  /** Fails the connection: pending entries are released with `err`, never acknowledged. */
  fail(err: Error): void {
    if (this.failure) return
    this.failure = err
    const rest = this.queue.slice(this.head)
    this.queue.length = 0
    this.head = 0
    this.onFail(err)
    for (const e of rest) e.release(err)
  }

  private flush(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.acked) {
      this.queue[this.head++]!.release()
    }
    // compact now and then instead of shifting on every release
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head)
      this.head = 0
    }
  }
}
