import type { EventDrivenNode } from '../engine/event/event-node.js'
import type { AlertEvent, Reading } from '../gateway/reading.js'
import type { Store } from '../store/store.js'
import type { DurableCallback, NotificationEntry, OutboxEntry } from '../store/types.js'
import type { GatewayContext } from './context.js'
import type { GatewayAction, GatewayEvent, TelemetryEvent } from './events.js'
import { type Stream, upstream } from './output.js'

/** Hears about readings and alert transitions once they are committed. */
export interface StoredObserver {
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
    // rows may wait longer for a bigger batch (fewer pages written per reading).
    const prompt = event.kind === 'telemetry' && event.message.qos > 0
    let outbox = false
    if (event.kind === 'telemetry') {
      // Every value that arrived ends as exactly one of: stored, duplicate, dead letter
      // (or dropped while the store is unhealthy): in = stored + duplicates + dead letters.
      const arrived = event.readings.length + event.duplicates + event.deadLetters.length
      if (arrived > 0) ctx.metrics.readingIn(event.deviceClass ?? 'unknown', arrived)
      if (event.duplicates > 0) ctx.metrics.duplicates(event.duplicates)
      const fwd = forward.has('readings')
      for (const r of event.readings) {
        const rows = fwd ? [upstream.reading(r)] : undefined
        outbox ||= fwd
        this.store.write({ kind: 'reading', reading: r, outbox: rows }, done, prompt)
      }
      for (const d of event.deadLetters) {
        ctx.metrics.deadLetter(d.reason)
        ctx.badInput.warn(
          `dead-letter:${d.reason}`,
          { topic: d.topic, device: d.device, reason: d.reason },
          `refused a sensor message: ${d.detail}. Kept in the dead_letters table; fix the sensor or the config (sensors.topics, devices)`,
        )
        const rows = forward.has('dead-letters') ? [upstream.deadLetter(d)] : undefined
        outbox ||= rows !== undefined
        this.store.write({ kind: 'dead-letter', deadLetter: d, outbox: rows }, done, prompt)
      }
    }
    for (const a of event.alerts) {
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
      this.store.write({ kind: 'alert', alert: a, outbox: rows, notifications }, committed)
    }
    for (const a of event.aggregates) {
      const rows = forward.has('aggregates') ? [upstream.aggregate(gateway, a)] : undefined
      outbox ||= rows !== undefined
      this.store.write({ kind: 'aggregate', aggregate: a, outbox: rows }, done, prompt)
    }
    if (event.kind === 'telemetry') {
      // Last, in the same or a later commit than the message's other rows: once it is
      // stored, so is the rest, and a redelivery may be acknowledged without storing.
      if (event.delivery !== undefined) {
        this.store.write(
          { kind: 'delivery', delivery: event.delivery, at: event.message.receivedAt },
          done,
          prompt,
        )
      } else if (event.duplicates > 0 && done !== undefined) {
        // A redelivery: acknowledged after the next commit, so never before the commit
        // holding the copy that was stored (commits are in order).
        this.store.write(
          {
            kind: 'delivery',
            delivery: undefined,
            at: event.message.receivedAt,
          },
          done,
          prompt,
        )
      }
    }
    if (event.kind === 'telemetry' && done === undefined) event.message.ack()
    if (outbox) this.opts.onOutbox?.()
    if (event.kind === 'housekeeping') {
      this.maybeRetain(event.at, ctx)
    }
    return 'done'
  }

  /**
   * One callback for every row of a message: the message is acknowledged after the last
   * commit, or failed at the first error. Undefined when the message produced no rows.
   */
  private acknowledger(event: TelemetryEvent): DurableCallback | undefined {
    let pending =
      event.readings.length +
      event.deadLetters.length +
      event.alerts.length +
      event.aggregates.length +
      (event.delivery !== undefined || event.duplicates > 0 ? 1 : 0)
    if (pending === 0) return undefined
    let failed = false
    return (err) => {
      if (failed) return
      if (err !== null) {
        failed = true
        event.message.ack(err)
        return
      }
      if (--pending === 0) {
        this.opts.observer?.readingsStored(event.readings)
        event.message.ack()
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
