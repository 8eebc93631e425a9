import type { Publisher } from '../broker/intake.js'
import type { EventDrivenNode } from '../engine/event/event-node.js'
import type { Aggregate } from '../gateway/reading.js'
import type { WindowAggregator, WindowState } from '../gateway/window-aggregator.js'
import type { GatewayContext } from './context.js'
import { appended, type GatewayAction, type GatewayEvent } from './events.js'
import { aggregatePayload, aggregateTopic, type OutputTopics } from './output.js'

export interface AggregateOutput {
  readonly enabled: boolean
  readonly topics: OutputTopics
  readonly qos: 0 | 1
}

/**
 * Adds every valid reading to its tumbling window; a window closes when a later reading
 * arrives or, on a housekeeping tick, when its end has passed without one (not while the
 * system clock cannot be trusted: the tick says `clockHeld`). Closed
 * windows are published and passed on to the store node.
 */
export class AggregateNode implements EventDrivenNode<GatewayEvent, GatewayContext, GatewayAction> {
  readonly id = 'aggregate'
  private carried: Aggregate[] = []

  /** `carried`: windows already closed that go out with the first event (a restart's). */
  constructor(
    private aggregator: WindowAggregator,
    private readonly publisher: Publisher,
    private output: AggregateOutput,
    carried: readonly Aggregate[] = [],
  ) {
    this.carried = [...carried]
  }

  /** What a stop must keep: the open windows, and the closed ones not yet passed on. */
  kept(): { open: WindowState[]; closed: Aggregate[] } {
    return { open: this.aggregator.snapshot(), closed: [...this.carried] }
  }

  /**
   * A reload with another window size starts new windows. The open ones are closed as
   * they are and go out with the next event (a tick at the latest), so none is lost.
   */
  replace(aggregator: WindowAggregator, output: AggregateOutput): void {
    if (this.aggregator !== aggregator) this.carried.push(...this.aggregator.flush())
    this.aggregator = aggregator
    this.output = output
  }

  processEvent(event: GatewayEvent, ctx: GatewayContext): GatewayAction {
    if (event.kind === 'tick' || !this.output.enabled) return 'default'
    if (this.carried.length > 0) {
      event.aggregates = appended(event.aggregates, this.carried)
      this.carried = []
    }
    if (event.kind === 'telemetry') {
      let closedNow: Aggregate[] | undefined
      for (let i = 0; i < event.readings.length; i++) {
        const r = event.readings[i]!
        const closed = this.aggregator.add(r)
        if (closed === undefined) continue
        closedNow ??= []
        closedNow.push(closed)
      }
      if (closedNow !== undefined) event.aggregates = appended(event.aggregates, closedNow)
    } else if (!event.clockHeld) {
      event.aggregates = appended(event.aggregates, this.aggregator.closeDue(event.at))
      if (event.forgotten.length > 0) this.aggregator.forget(event.forgotten)
    }
    const { topics, qos } = this.output
    for (let i = 0; i < event.aggregates.length; i++) {
      const a = event.aggregates[i]!
      const topic = aggregateTopic(topics, a)
      this.publisher
        .publish(topic, aggregatePayload(topics.gateway, a), { qos, retain: false })
        .catch((err: unknown) => {
          ctx.badInput.warn(
            'aggregate-publish',
            { topic, err: String(err) },
            'could not publish an aggregate on the local broker; it is stored in SQLite',
          )
        })
    }
    return 'default'
  }
}
