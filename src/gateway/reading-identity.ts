import { createHash } from 'node:crypto'
import type { Reading } from './reading.js'

/**
 * The identity of a reading, decided once for the whole gateway (docs/storage.md,
 * "Identity of a reading"):
 *
 * 1. A payload with the sensor's own message id: (device, message id). The same id again
 *    is a redelivery, whatever it carries.
 * 2. A reading with the sensor's timestamp: (device, metric, timestamp, value). Two
 *    readings that differ in value are both kept, even with equal timestamps.
 * 3. A reading without a timestamp (plain numbers, most ESPHome/Shelly topics): every
 *    message is a new reading. Its time is the receive time, made unique per series (a
 *    second reading in the same millisecond is stamped 1 ms later), so none is merged.
 *    A redelivery is recognised by MQTT itself: a PUBLISH with the DUP flag, from the same
 *    session, with the same packet id, topic and payload as one already stored. That does
 *    not need the sensor to have a clock, and survives a restart (the store keeps it).
 */
export interface Delivery {
  /** `device:<id>` for sensor message ids, `mqtt:<session>` for MQTT packet ids. */
  readonly source: string
  readonly id: string
  /** Topic and payload digest for MQTT packet ids (ids are reused); '' for message ids. */
  readonly digest: string
}

/** What the store knows: committed rows, and rows written but not committed yet. */
export interface IdentityLedger {
  hasReading(r: Reading): boolean
  /** The delivery remembered under (source, id); `pending` while not committed yet. */
  delivery(
    source: string,
    id: string,
  ): { readonly digest: string; readonly pending: boolean } | undefined
  /** The id of the source's delivery committed last (its newest packet id), if any. */
  newestDelivery(source: string): string | undefined
}

/** How a message reached the gateway, as far as identity is concerned. */
export interface Arrival {
  readonly topic: string
  readonly payload: Buffer
  /** QoS 1/2 only: the MQTT session, its packet id and the DUP flag. */
  readonly delivery?: { readonly session: string; readonly packetId: number; readonly dup: boolean }
}

export interface Admitted {
  readonly fresh: readonly Reading[]
  /** Readings of this message already stored (a redelivery or a re-send). */
  readonly duplicates: number
  /** To store with the message's rows, so its redelivery is recognised later. */
  readonly delivery: Delivery | undefined
}

/** Series whose last receive-time stamp is remembered (oldest forgotten first). */
const MAX_SERIES = 10_000

/**
 * How far behind a session's newest stored packet id a redelivered id may be. Senders
 * number their messages upwards (wrapping after 65535) and redeliver only what is in
 * flight, which is never half the id space: an id further back is a later message reusing
 * it (ids wrapped, or the sensor restarted and numbers from 1 again), never a copy.
 */
const REDELIVERY_WINDOW = 32_768

export class ReadingIdentity {
  /** Last receive-time stamp given per series, so stamps never repeat within a series. */
  private readonly lastStamp = new Map<string, number>()

  constructor(private readonly ledger: IdentityLedger) {}

  admit(arrival: Arrival, readings: readonly Reading[]): Admitted {
    if (readings.length === 0) return { fresh: readings, duplicates: 0, delivery: undefined }
    // One pass over the message (this runs per sensor message): which rule applies.
    let withId: Reading | undefined
    let fromReceive = false
    for (const r of readings) {
      if (withId === undefined && r.messageId !== undefined) withId = r
      if (r.tsFromReceive) fromReceive = true
    }
    if (withId !== undefined) {
      const d: Delivery = { source: `device:${withId.device}`, id: withId.messageId!, digest: '' }
      if (this.ledger.delivery(d.source, d.id) !== undefined) {
        return { fresh: [], duplicates: readings.length, delivery: undefined }
      }
      return { fresh: this.stamp(readings), duplicates: 0, delivery: d }
    }
    if (fromReceive) {
      const m = arrival.delivery
      // QoS 0 is never redelivered: nothing to remember.
      if (m === undefined)
        return { fresh: this.stamp(readings), duplicates: 0, delivery: undefined }
      const d: Delivery = {
        source: `mqtt:${m.session}`,
        // zero-padded: one session's ids sort in the order they are used (adjacent pages)
        id: String(m.packetId).padStart(5, '0'),
        digest: digestOf(arrival.topic, arrival.payload),
      }
      // Without DUP the sender says it is new: a reused packet id, not a redelivery.
      if (m.dup && this.isCopy(d, m.packetId)) {
        return { fresh: [], duplicates: readings.length, delivery: undefined }
      }
      return { fresh: this.stamp(readings), duplicates: 0, delivery: d }
    }
    // Usually none is stored yet: the message's own list goes on, no copy.
    let fresh: Reading[] | undefined
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i] as Reading
      if (!this.ledger.hasReading(r)) fresh?.push(r)
      else fresh ??= readings.slice(0, i)
    }
    if (fresh === undefined) return { fresh: readings, duplicates: 0, delivery: undefined }
    return { fresh, duplicates: readings.length - fresh.length, delivery: undefined }
  }

  /**
   * A DUP PUBLISH is a copy of the message remembered under its packet id when it says the
   * same, and when that message is still being stored or is recent in the session's
   * numbering: the record of an older message with the same id and content (a message
   * that reused the id was lost in a crash before its commit) must not swallow it.
   */
  private isCopy(d: Delivery, packetId: number): boolean {
    const known = this.ledger.delivery(d.source, d.id)
    if (known === undefined || known.digest !== d.digest) return false
    if (known.pending) return true
    const newest = this.ledger.newestDelivery(d.source)
    if (newest === undefined) return true
    return (Number(newest) - packetId + 65_536) % 65_536 < REDELIVERY_WINDOW
  }

  /** Receive-time stamps made unique per series; sensor timestamps are left alone. */
  private stamp(readings: readonly Reading[]): readonly Reading[] {
    return readings.map((r) => {
      if (!r.tsFromReceive) return r
      const key = `${r.device}\u0000${r.metric}`
      const last = this.lastStamp.get(key)
      const ts = last !== undefined && r.ts <= last ? last + 1 : r.ts
      this.lastStamp.delete(key)
      this.lastStamp.set(key, ts)
      if (this.lastStamp.size > MAX_SERIES) {
        this.lastStamp.delete(this.lastStamp.keys().next().value as string)
      }
      return ts === r.ts ? r : { ...r, ts }
    })
  }
}

function digestOf(topic: string, payload: Buffer): string {
  return createHash('sha1').update(topic).update('\u0000').update(payload).digest('base64')
}
