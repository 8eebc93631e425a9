import type { EventDrivenNode, NodeFailure } from '../engine/event/event-node.js'
import type { GatewayContext } from './context.js'
import { appended, type GatewayAction, type GatewayEvent } from './events.js'

/**
 * The `error` route of the processing nodes. A node that throws on a message must not
 * lose it, nor make the sensor resend it forever (a poison message): the message is kept
 * as a dead letter with the error, its valid readings are still stored, and the sensor is
 * acknowledged.
 */
export class QuarantineNode
  implements EventDrivenNode<GatewayEvent, GatewayContext, GatewayAction>
{
  readonly id = 'quarantine'

  processEvent(event: GatewayEvent, ctx: GatewayContext, failure?: NodeFailure): GatewayAction {
    const error = failure?.error instanceof Error ? failure.error.message : String(failure?.error)
    const nodeId = failure?.nodeId ?? 'unknown'
    ctx.badInput.warn(
      `node-error:${nodeId}`,
      { node: nodeId, err: error, kind: event.kind },
      `node "${nodeId}" failed; the message is kept as a dead letter (processing-error). Please report this with the dead letter (floxgate export)`,
    )
    if (event.kind !== 'telemetry') return 'done'
    const m = event.message
    event.deadLetters = appended(event.deadLetters, [
      {
        topic: m.topic,
        payload: m.payload,
        reason: 'processing-error',
        detail: `node ${nodeId} failed: ${error}`,
        device: event.device,
        receivedAt: m.receivedAt,
      },
    ])
    return 'default'
  }
}
