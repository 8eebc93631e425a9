import type { EventDrivenNode } from '../engine/event/event-node.js'
import type { AlertRules } from '../gateway/alert-rules.js'
import type { Classifier } from '../gateway/classifier.js'
import type { DeviceDirectory } from '../gateway/device-directory.js'
import type { GatewayContext } from './context.js'
import { appended, type GatewayAction, type GatewayEvent } from './events.js'

export interface ClassifyParts {
  readonly classifier: Classifier
  readonly rules: AlertRules
  readonly devices: DeviceDirectory
}

/**
 * The classifier of the design: refuses invalid readings (dead letters with a reason),
 * evaluates the valid ones against the rules, and routes by what it found: `alert` when
 * a rule changed state, `normal` otherwise, `invalid` when nothing valid is left. Every
 * valid reading goes on to aggregation and storage on both routes.
 */
export class ClassifyNode implements EventDrivenNode<GatewayEvent, GatewayContext, GatewayAction> {
  readonly id = 'classify'

  constructor(private parts: ClassifyParts) {}

  replace(parts: ClassifyParts): void {
    this.parts = parts
  }

  processEvent(event: GatewayEvent): GatewayAction {
    if (event.kind !== 'telemetry') return 'done'
    const { classifier, rules, devices } = this.parts
    const m = event.message
    const out = classifier.classifyMessage(event, m.topic, m.payload)
    event.readings = out.readings
    event.deadLetters = out.deadLetters
    // The parser handed the entry on when it saw one device; look it up only otherwise.
    if (event.deviceClass === undefined && event.device !== undefined)
      event.deviceClass = devices.resolve(event.device)?.profile.id
    if (out.readings.length === 0) return 'invalid'
    for (let i = 0; i < out.readings.length; i++) {
      const r = out.readings[i]!
      const transitions = rules.evaluate(r)
      if (transitions.length > 0) event.alerts = appended(event.alerts, transitions)
    }
    return event.alerts.length > 0 ? 'alert' : 'normal'
  }
}
