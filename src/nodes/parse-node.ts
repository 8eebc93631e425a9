import type { EventDrivenNode } from '../engine/event/event-node.js'
import type { ReadingParser } from '../gateway/reading-parser.js'
import type { GatewayContext } from './context.js'
import type { GatewayAction, GatewayEvent } from './events.js'

/** Raw MQTT message -> readings and dead letters (see ReadingParser for the formats). */
export class ParseNode implements EventDrivenNode<GatewayEvent, GatewayContext, GatewayAction> {
  readonly id = 'parse'

  constructor(private parser: ReadingParser) {}

  /** A reload swaps the parser; the next message uses the new topics and fields. */
  replace(parser: ReadingParser): void {
    this.parser = parser
  }

  processEvent(event: GatewayEvent): GatewayAction {
    if (event.kind !== 'telemetry') return 'done'
    const m = event.message
    const parsed = this.parser.parse(m.topic, m.payload, m.receivedAt)
    event.device = parsed.device
    event.readings = parsed.readings
    event.deadLetters = parsed.deadLetters
    return parsed.readings.length > 0 ? 'readings' : 'invalid'
  }
}
