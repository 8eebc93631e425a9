/** A row published on the current connection and not yet deleted. */
export interface InFlight {
  readonly id: number
  readonly sentAt: number
  acked: boolean
}

/**
 * The rows sent on the current connection and not yet deleted, in send (= id) order.
 * Only its acknowledged prefix may be deleted: a row acknowledged after an unacknowledged
 * one waits, so the table never has a hole that a crash could turn into a gap.
 */
export class SendWindow {
  private entries: InFlight[] = []
  /** Length of the acknowledged prefix. */
  private acked = 0

  get length(): number {
    return this.entries.length
  }

  push(id: number, sentAt: number): InFlight {
    const entry: InFlight = { id, sentAt, acked: false }
    this.entries.push(entry)
    return entry
  }

  ack(entry: InFlight): void {
    entry.acked = true
    while (this.acked < this.entries.length && this.entries[this.acked]!.acked) this.acked++
  }

  /** First and last id of the acknowledged prefix, or undefined when there is none. */
  ackedRange(): { first: number; last: number; rows: number } | undefined {
    if (this.acked === 0) return undefined
    return { first: this.entries[0]!.id, last: this.entries[this.acked - 1]!.id, rows: this.acked }
  }

  /** Forgets the acknowledged prefix (after its rows were deleted). */
  dropAcked(): void {
    this.entries.splice(0, this.acked)
    this.acked = 0
  }

  /** The oldest publish still waiting for its PUBACK. */
  oldestUnacked(): InFlight | undefined {
    return this.entries[this.acked]
  }

  clear(): void {
    this.entries = []
    this.acked = 0
  }
}
