import type { EventDrivenNode } from '../engine/event/event-node.js'
import type { ReadingIdentity } from '../gateway/reading-identity.js'
import type { ReadingParser } from '../gateway/reading-parser.js'
import type { GatewayContext } from './context.js'
import type { GatewayAction, GatewayEvent } from './events.js'

/**
 * Raw MQTT message -> readings and dead letters (see ReadingParser for the formats). A
 * redelivery is recognised here, before rules and windows see it, so it is counted once
 * everywhere (ReadingIdentity); it still goes to the store node to be acknowledged.
 */
export class ParseNode implements EventDrivenNode<GatewayEvent, GatewayContext, GatewayAction> {
  readonly id = 'parse'

  constructor(
    private parser: ReadingParser,
    private readonly identity: ReadingIdentity,
  ) {}

  /** A reload swaps the parser; the next message uses the new topics and fields. */
  replace(parser: ReadingParser): void {
    this.parser = parser
  }

  processEvent(event: GatewayEvent): GatewayAction {
    if (event.kind !== 'telemetry') return 'done'
    const m = event.message
    if (m.refused !== undefined) {
      // refused by the broker and acknowledged: kept as a dead letter, never parsed
      event.deadLetters = [
        {
          topic: m.topic,
          payload: m.payload,
          reason: m.refused.reason,
          detail: m.refused.detail,
          device: undefined,
          receivedAt: m.receivedAt,
        },
      ]
      return 'invalid'
    }
    const parsed = this.parser.parse(m.topic, m.payload, m.receivedAt)
    const admitted = this.identity.admit(m, parsed.readings)
    event.device = parsed.device
    event.entry = parsed.entry
    event.deviceClass = parsed.entry?.profile.id
    event.readings = admitted.fresh
    event.duplicates = admitted.duplicates
    event.delivery = admitted.delivery
    event.deadLetters = parsed.deadLetters
    if (admitted.fresh.length > 0) return 'readings'
    return parsed.deadLetters.length > 0 ? 'invalid' : 'duplicate'
  }
}
