import type { EventDrivenNode } from '../engine/event/event-node.js'
import type { AlertRules } from '../gateway/alert-rules.js'
import type { GatewayContext } from './context.js'
import { type GatewayAction, type GatewayEvent, type HousekeepingEvent, NONE } from './events.js'

/**
 * Turns a timer tick into housekeeping: stale-sensor checks now, and (further down the
 * path) windows due to close and retention. Routes `alert` when a sensor went quiet.
 */
export class HousekeepingNode
  implements EventDrivenNode<GatewayEvent, GatewayContext, GatewayAction>
{
  readonly id = 'housekeeping'

  private lastStaleCheck = Number.NEGATIVE_INFINITY

  /** `staleCheckMs`: `alerts.staleCheckSeconds`; the clock ticks more often (windows). */
  /** `onTick`: the workflow got a tick this far (the watchdog's pipeline progress). */
  /** `clockSane`: false holds every decision made on the clock (src/ops/clock-sanity.ts). */
  constructor(
    private rules: AlertRules,
    private staleCheckMs = 0,
    private readonly onTick: () => void = () => {},
    private readonly clockSane: () => boolean = () => true,
  ) {}

  replace(rules: AlertRules, staleCheckMs = this.staleCheckMs): void {
    this.rules = rules
    this.staleCheckMs = staleCheckMs
  }

  processEvent(
    event: GatewayEvent,
    ctx: GatewayContext,
  ): { action: GatewayAction; event: GatewayEvent } | 'done' {
    if (event.kind !== 'tick') return 'done'
    this.onTick()
    // Alerts whose rule or device is gone (a reload, a start with another config): cleared
    // now, whatever the clock (no time is measured).
    const orphaned = this.rules.takeOrphaned()
    if (!this.clockSane()) {
      const held: HousekeepingEvent = {
        kind: 'housekeeping',
        at: event.at,
        clockHeld: true,
        alerts: orphaned,
        forgotten: NONE,
        aggregates: NONE,
      }
      return { action: held.alerts.length > 0 ? 'alert' : 'normal', event: held }
    }
    const due = event.at - this.lastStaleCheck >= this.staleCheckMs
    if (due) this.lastStaleCheck = event.at
    // Forgetting first: a forgotten device's alerts are cleared, not raised again.
    const { forgotten, cleared } = due
      ? this.rules.forgetSilent(event.at)
      : { forgotten: [], cleared: [] }
    if (forgotten.length > 0) {
      ctx.log.info(
        {
          forgotten: forgotten.length,
          devices: forgotten.slice(0, 5).map((d) => d.slice(0, 64)),
          alertsCleared: cleared.length,
        },
        'forgot unknown devices silent past unknownDevices.forgetAfterSeconds: their alerts are cleared and they no longer count against unknownDevices.max',
      )
    }
    const alerts = due ? this.rules.checkStale(event.at) : []
    const next: HousekeepingEvent = {
      kind: 'housekeeping',
      at: event.at,
      clockHeld: false,
      alerts:
        cleared.length + orphaned.length === 0 ? alerts : [...orphaned, ...cleared, ...alerts],
      forgotten,
      aggregates: NONE,
    }
    return { action: next.alerts.length > 0 ? 'alert' : 'normal', event: next }
  }
}
