import type { Aggregate, AlertEvent, DeadLetter, Reading } from '../gateway/reading.js'
import type { Delivery } from '../gateway/reading-identity.js'
import type { Backlog } from './outbox.js'

/** A message for the uplink, inserted into `outbox` in the same transaction as its row. */
export interface OutboxEntry {
  /** Which configured stream it belongs to: `readings`, `aggregates`, `alerts`, `dead-letters`. */
  readonly stream: string
  readonly topic: string
  readonly payload: Buffer | string
}

/** An alert notification for one sink, inserted into `notifications` with its alert event. */
export interface NotificationEntry {
  /** The `notify:` sink id. */
  readonly sink: string
  /** The alert document (JSON), the same as published on MQTT. */
  readonly payload: string
}

/**
 * One thing to make durable. `outbox` entries commit or roll back with it.
 *
 * A sensor message's readings travel as ONE `readings` item with its delivery record, so
 * the writer queues, commits and acknowledges once per message, not once per value.
 */
export type StoreItem =
  | {
      readonly kind: 'readings'
      readonly readings: readonly Reading[]
      /** The uplink row of each reading, by index; absent when readings are not forwarded. */
      readonly outbox?: readonly OutboxEntry[] | undefined
      /**
       * Written after the readings: their redelivery is recognised from it. Absent with no
       * readings, the item only orders an acknowledgement after a commit (a redelivery).
       */
      readonly delivery?: Delivery | undefined
      /** When the message was received (the delivery's `at`). */
      readonly at: number
    }
  | {
      readonly kind: 'aggregate'
      readonly aggregate: Aggregate
      readonly outbox?: readonly OutboxEntry[]
    }
  | {
      readonly kind: 'alert'
      readonly alert: AlertEvent
      readonly outbox?: readonly OutboxEntry[]
      readonly notifications?: readonly NotificationEntry[]
    }
  | {
      readonly kind: 'dead-letter'
      readonly deadLetter: DeadLetter
      readonly outbox?: readonly OutboxEntry[]
    }

/** The rows a commit inserts, by table: what the stats and metrics count. */
export type RowKind = 'reading' | 'aggregate' | 'alert' | 'delivery' | 'dead-letter'

/**
 * How soon a write must be committed:
 * - `ack`: a sender waits for it (a QoS 1 PUBACK): once the input is idle with 20 of
 *   them waiting (every idle moment with `store.batch.commitWhenIdle`), else within
 *   `maxDelayMs`;
 * - `soon`: nobody is held, but others act on it once stored (an alert's notifications,
 *   Home Assistant): within `maxDelayMs`;
 * - `later`: nobody waits (a QoS 0 reading): within `relaxedDelayMs`.
 */
export type Urgency = 'ack' | 'soon' | 'later'

/** Called once per write, after the COMMIT that made it durable returned, or with the error. */
export type DurableCallback = (err: Error | null) => void

export type Durability = 'normal' | 'full'
export type DropPolicy = 'drop-oldest' | 'reject-new'
export type DropReason = 'drop-oldest' | 'reject-new' | 'ttl' | 'unhealthy'

/** Every uplink's queue together (Store.outboxStats). */
export interface OutboxStats extends Backlog {
  /** Rows dropped since open, by reason. */
  readonly dropped: Readonly<Record<DropReason, number>>
}

export interface WriterStats {
  /** Rows inserted by kind (duplicates not included). */
  readonly rowsWritten: Readonly<Record<RowKind, number>>
  readonly outboxRowsWritten: number
  /** Readings already stored under the same key, ignored. */
  readonly duplicates: number
  readonly batches: number
  readonly failedBatches: number
  readonly lastCommitMs: number
  readonly maxCommitMs: number
  readonly totalCommitMs: number
  /** Items waiting for the next commit (including those kept for retry). */
  readonly pending: number
  /** Items kept in memory after a failed commit, retried on the next flush. */
  readonly retrying: number
  /** Items given up on while the store was unhealthy (retry buffer full). */
  readonly droppedUnhealthy: number
  readonly lastError: string | undefined
}

export type StoreHealth = { readonly ok: true } | { readonly ok: false; readonly reason: string }
