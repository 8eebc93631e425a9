import { EventDrivenWorkflow } from '../engine/event/event-workflow.js'
import type { TimerEventSource } from '../engine/event/timer-source.js'
import type { AggregateNode } from '../nodes/aggregate-node.js'
import type { AlertNode } from '../nodes/alert-node.js'
import type { ClassifyNode } from '../nodes/classify-node.js'
import type { GatewayContext } from '../nodes/context.js'
import type { GatewayAction, GatewayEvent } from '../nodes/events.js'
import type { HousekeepingNode } from '../nodes/housekeeping-node.js'
import type { ParseNode } from '../nodes/parse-node.js'
import { QuarantineNode } from '../nodes/quarantine-node.js'
import type { SensorSource } from '../nodes/sensor-source.js'
import type { StoreNode } from '../nodes/store-node.js'

export interface GatewayNodes {
  readonly sensors: SensorSource
  readonly clock: TimerEventSource
  readonly parse: ParseNode
  readonly classify: ClassifyNode
  readonly alerts: AlertNode
  readonly housekeeping: HousekeepingNode
  readonly aggregate: AggregateNode
  readonly store: StoreNode
}

export type GatewayWorkflow = EventDrivenWorkflow<GatewayEvent, GatewayContext, GatewayAction>

/**
 * The gateway's graph:
 *
 *   sensors ─▶ parse ─readings─▶ classify ─alert─▶ alerts ─▶ aggregate ─▶ store
 *                 │                  ├─normal──────────────────▲
 *                 └─invalid, duplicate─▶ store  └─invalid─▶ store
 *   clock ─▶ housekeeping ─alert─▶ alerts ;  ─normal─▶ aggregate
 *   parse, classify, alerts, aggregate ─error─▶ quarantine ─▶ store
 */
export function buildGatewayWorkflow(
  n: GatewayNodes,
  onError: (err: unknown, event: GatewayEvent | undefined, nodeId: string) => void,
): GatewayWorkflow {
  const quarantine = new QuarantineNode()
  const wf: GatewayWorkflow = new EventDrivenWorkflow({ id: 'gateway', onError })
  for (const node of [
    n.sensors,
    n.clock,
    n.parse,
    n.classify,
    n.alerts,
    n.housekeeping,
    n.aggregate,
    n.store,
    quarantine,
  ]) {
    wf.addNode(node)
  }
  wf.setRoute('sensors', 'default', 'parse')
    .setRoute('parse', 'readings', 'classify')
    .setRoute('parse', 'invalid', 'store')
    .setRoute('parse', 'duplicate', 'store')
    .setRoute('classify', 'alert', 'alerts')
    .setRoute('classify', 'normal', 'aggregate')
    .setRoute('classify', 'invalid', 'store')
    .setRoute('alerts', 'default', 'aggregate')
    .setRoute('aggregate', 'default', 'store')
    .setRoute('clock', 'default', 'housekeeping')
    .setRoute('housekeeping', 'alert', 'alerts')
    .setRoute('housekeeping', 'normal', 'aggregate')
    .setRoute('quarantine', 'default', 'store')
  for (const id of ['parse', 'classify', 'alerts', 'aggregate', 'housekeeping']) {
    wf.setRoute(id, 'error', 'quarantine')
  }
  return wf
}
