import type { EventDrivenNode } from '../engine/event/event-node.js'
import type { AlertEvent, Reading } from '../gateway/reading.js'
import type { Store } from '../store/store.js'
import type { DurableCallback, NotificationEntry, OutboxEntry, Urgency } from '../store/types.js'
import type { GatewayContext } from './context.js'
import type { GatewayAction, GatewayEvent, TelemetryEvent } from './events.js'
import { type Stream, upstream } from './output.js'

/** Hears about readings and alert transitions once they are committed. */
export interface StoredObserver {
  /**
   * True while nobody listens (no status page open, Home Assistant off): the store node
   * then builds no per-message callback for it.
   */
  readonly idle?: boolean
  readingsStored(readings: readonly Reading[]): void
  alertStored(a: AlertEvent): void
}

export interface StoreNodeOptions {
  readonly gateway: string
  /** Which streams go to the uplink's outbox (none when there is no uplink). */
  readonly forward: ReadonlySet<Stream>
  /** Called after a write that queued outbox rows (wakes the forwarder). */
  readonly onOutbox?: (() => void) | undefined
  /** Notification rows for an alert transition (none when no sink is configured). */
  readonly notifications?: ((a: AlertEvent) => readonly NotificationEntry[] | undefined) | undefined
  /** Called after a write with notification rows committed (wakes the notifier). */
  readonly onNotifications?: (() => void) | undefined
  /** Told what was committed (Home Assistant's state topics). */
  readonly observer?: StoredObserver | undefined
  /** How often housekeeping ticks run age and size retention. */
  readonly retentionEveryMs: number
}

/**
 * The end of every path: readings, aggregates, alert transitions and dead letters go to
 * SQLite through the store's group commit, each with its outbox rows in the same
 * transaction. A sensor message is acknowledged (its QoS 1 PUBACK released) only when
 * everything it produced is committed; if the commit fails it is not acknowledged and
 * the sender delivers it again.
 */
export class StoreNode implements EventDrivenNode<GatewayEvent, GatewayContext, GatewayAction> {
  readonly id = 'store'
  private lastRetention = 0

  constructor(
    private readonly store: Store,
    private opts: StoreNodeOptions,
  ) {}

  replace(opts: StoreNodeOptions): void {
    this.opts = opts
  }

  processEvent(event: GatewayEvent, ctx: GatewayContext): GatewayAction {
    if (event.kind === 'tick') return 'done'
    const { forward, gateway } = this.opts
    const done = event.kind === 'telemetry' ? this.acknowledger(event) : undefined
    // A QoS 1 sender waits for this commit (its PUBACK); a QoS 0 one does not, and its
    // rows may wait longer for a bigger batch (fewer pages written per reading). An alert
    // is committed soon either way: notifications and Home Assistant act on it once stored.
    const acked = event.kind === 'telemetry' && event.message.qos > 0
    const urgency: Urgency = acked ? 'ack' : 'later'
    let outbox = false
    if (event.kind === 'telemetry') {
      // Every value that arrived ends as exactly one of: stored, duplicate, dead letter
      // (or dropped while the store is unhealthy): in = stored + duplicates + dead letters.
      const arrived = event.readings.length + event.duplicates + event.deadLetters.length
      if (arrived > 0) ctx.metrics.readingIn(event.deviceClass ?? 'unknown', arrived)
      if (event.duplicates > 0) ctx.metrics.duplicates(event.duplicates)
      // The message's readings and its delivery record: one item, one commit, one callback.
      // A redelivery without readings still writes an empty item, so it is acknowledged
      // after the next commit, never before the commit holding the copy that was stored.
      const readings = event.readings
      if (readings.length > 0 || event.delivery !== undefined || event.duplicates > 0) {
        let rows: OutboxEntry[] | undefined
        if (readings.length > 0 && forward.has('readings')) {
          rows = readings.map((r) => upstream.reading(r))
          outbox = true
        }
        this.store.write(
          {
            kind: 'readings',
            readings,
            outbox: rows,
            delivery: event.delivery,
            at: event.message.receivedAt,
          },
          done,
          urgency,
        )
      }
      for (let i = 0; i < event.deadLetters.length; i++) {
        const d = event.deadLetters[i]!
        ctx.metrics.deadLetter(d.reason)
        ctx.badInput.warn(
          `dead-letter:${d.reason}`,
          { topic: d.topic, device: d.device, reason: d.reason },
          `refused a sensor message: ${d.detail}. Kept in the dead_letters table; fix the sensor or the config (sensors.topics, devices)`,
        )
        const rows = forward.has('dead-letters') ? [upstream.deadLetter(d)] : undefined
        outbox ||= rows !== undefined
        this.store.write({ kind: 'dead-letter', deadLetter: d, outbox: rows }, done, urgency)
      }
    }
    for (let i = 0; i < event.alerts.length; i++) {
      const a = event.alerts[i]!
      const rows: OutboxEntry[] | undefined = forward.has('alerts')
        ? [upstream.alert(a)]
        : undefined
      outbox ||= rows !== undefined
      const notifications = this.opts.notifications?.(a)
      const wake = notifications === undefined ? undefined : this.opts.onNotifications
      const observer = this.opts.observer
      const committed: DurableCallback | undefined =
        wake === undefined && observer === undefined
          ? done
          : (err) => {
              done?.(err)
              if (err !== null) return
              wake?.()
              observer?.alertStored(a)
            }
      this.store.write(
        { kind: 'alert', alert: a, outbox: rows, notifications },
        committed,
        acked ? 'ack' : 'soon',
      )
    }
    for (let i = 0; i < event.aggregates.length; i++) {
      const a = event.aggregates[i]!
      const rows = forward.has('aggregates') ? [upstream.aggregate(gateway, a)] : undefined
      outbox ||= rows !== undefined
      this.store.write({ kind: 'aggregate', aggregate: a, outbox: rows }, done, urgency)
    }
    if (event.kind === 'telemetry' && done === undefined) event.message.ack()
    if (outbox) this.opts.onOutbox?.()
    if (event.kind === 'housekeeping') {
      this.maybeRetain(event.at, ctx)
    }
    return 'done'
  }

  /**
   * One callback for every item of a message: the message is acknowledged after the last
   * commit, or failed at the first error. Undefined when nobody needs to hear of the commit
   * (a QoS 0 message with nothing observing: acknowledged at once, a no-op), or when the
   * message produced no rows.
   */
  private acknowledger(event: TelemetryEvent): DurableCallback | undefined {
    const message = event.message
    const observer = this.opts.observer?.idle === true ? undefined : this.opts.observer
    let pending =
      (event.readings.length > 0 || event.delivery !== undefined || event.duplicates > 0 ? 1 : 0) +
      event.deadLetters.length +
      event.alerts.length +
      event.aggregates.length
    if (pending === 0) return undefined
    if (observer === undefined) {
      // QoS 0 has nothing to acknowledge: the rows need no callback (nothing kept per row).
      if (message.qos === 0) return undefined
      if (pending === 1) return message.ack
    }
    let failed = false
    return (err) => {
      if (failed) return
      if (err !== null) {
        failed = true
        message.ack(err)
        return
      }
      if (--pending === 0) {
        observer?.readingsStored(event.readings)
        message.ack()
      }
    }
  }

  private maybeRetain(at: number, ctx: GatewayContext): void {
    if (at - this.lastRetention < this.opts.retentionEveryMs) return
    this.lastRetention = at
    this.store.retain(at).catch((err: unknown) => {
      ctx.badInput.warn('retention', { err: String(err) }, 'retention pass failed; will retry')
    })
  }
}
