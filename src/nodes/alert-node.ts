import type { Publisher } from '../broker/intake.js'
import type { EventDrivenNode } from '../engine/event/event-node.js'
import type { GatewayContext } from './context.js'
import type { GatewayAction, GatewayEvent } from './events.js'
import { alertPayload, alertTopic, type OutputTopics } from './output.js'

export interface AlertOutput {
  readonly topics: OutputTopics
  readonly qos: 0 | 1
  readonly retain: boolean
}

/**
 * Publishes raise and clear transitions on the gateway's broker. Transitions only: the
 * rules never repeat a raise while an alert stays active, so nothing here re-sends.
 * The store node writes the same transitions to the alert history after this.
 */
export class AlertNode implements EventDrivenNode<GatewayEvent, GatewayContext, GatewayAction> {
  readonly id = 'alerts'

  constructor(
    private readonly publisher: Publisher,
    private output: AlertOutput,
  ) {}

  replace(output: AlertOutput): void {
    this.output = output
  }

  processEvent(event: GatewayEvent, ctx: GatewayContext): GatewayAction {
    if (event.kind === 'tick') return 'done'
    const { topics, qos, retain } = this.output
    for (let i = 0; i < event.alerts.length; i++) {
      const a = event.alerts[i]!
      const fields = {
        device: a.device,
        metric: a.metric,
        rule: a.rule,
        severity: a.severity,
        value: a.value,
        threshold: a.threshold,
      }
      if (a.state === 'raised') {
        ctx.metrics.alertRaised(a.severity)
        ctx.log.warn(
          fields,
          `alert raised: ${a.device} ${a.metric ?? ''} ${a.rule} (${a.severity})`,
        )
      } else {
        ctx.metrics.alertCleared(a.severity)
        ctx.log.info(fields, `alert cleared: ${a.device} ${a.metric ?? ''} ${a.rule}`)
      }
      const topic = alertTopic(topics, a)
      // Not awaited: a slow subscriber must not stall intake. The history is in SQLite.
      this.publisher.publish(topic, alertPayload(a), { qos, retain }).catch((err: unknown) => {
        ctx.badInput.warn(
          'alert-publish',
          { topic, err: String(err) },
          'could not publish an alert on the local broker; it is kept in the alert history (floxgate export)',
        )
      })
    }
    return 'default'
  }
}
