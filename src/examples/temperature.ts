/**
 * ADR-0009's temperature example, done right: a channel source, a classifier that routes
 * by the reading's content, a handler per class, and a context that keeps state between
 * events. High and low readings reach their handlers; a critical one ends the run.
 *
 * Run: `npm run example:temperature`
 */
import { pathToFileURL } from 'node:url'
import { ChannelEventSource } from '../engine/event/channel-source.js'
import type { EventDrivenNode } from '../engine/event/event-node.js'
import { EventDrivenWorkflow, type EventRunResult } from '../engine/event/event-workflow.js'

export interface TemperatureEvent {
  readonly sensorId: string
  readonly celsius: number
  readonly ts: number
}

export type TemperatureAction = 'default' | 'normal' | 'high' | 'low' | 'critical' | 'terminate'

export const THRESHOLDS = { low: 10, high: 30, critical: 40 } as const

export interface TemperatureContext {
  /** Readings per sensor, oldest first (the last `historySize`). */
  readonly history: Map<string, number[]>
  readonly alerts: string[]
  readonly averages: Map<string, { count: number; mean: number }>
  /** Which handler saw which readings, to show the routing. */
  readonly handled: { normal: number[]; high: number[]; low: number[]; critical: number[] }
}

export function newTemperatureContext(): TemperatureContext {
  return {
    history: new Map(),
    alerts: [],
    averages: new Map(),
    handled: { normal: [], high: [], low: [], critical: [] },
  }
}

type TempNode = EventDrivenNode<TemperatureEvent, TemperatureContext, TemperatureAction>

/** Keeps history and running means, then routes by threshold. */
export function classifier(historySize = 10): TempNode {
  return {
    id: 'classifier',
    processEvent(e, ctx) {
      const h = ctx.history.get(e.sensorId) ?? []
      h.push(e.celsius)
      if (h.length > historySize) h.shift()
      ctx.history.set(e.sensorId, h)
      const avg = ctx.averages.get(e.sensorId) ?? { count: 0, mean: 0 }
      avg.count++
      avg.mean += (e.celsius - avg.mean) / avg.count
      ctx.averages.set(e.sensorId, avg)
      if (e.celsius >= THRESHOLDS.critical) return 'critical'
      if (e.celsius >= THRESHOLDS.high) return 'high'
      if (e.celsius <= THRESHOLDS.low) return 'low'
      return 'normal'
    },
  }
}

function handler(
  id: string,
  kind: 'normal' | 'high' | 'low' | 'critical',
  alert: boolean,
  then: TemperatureAction,
): TempNode {
  return {
    id,
    processEvent(e, ctx) {
      ctx.handled[kind].push(e.celsius)
      if (alert) ctx.alerts.push(`${kind.toUpperCase()} ${e.sensorId}: ${e.celsius} °C`)
      return then
    },
  }
}

export function buildTemperatureWorkflow(source: ChannelEventSource<TemperatureEvent>) {
  // 'default' from a handler has no route: that reading's path ends there.
  return new EventDrivenWorkflow<TemperatureEvent, TemperatureContext, TemperatureAction>({
    id: 'temperature',
  })
    .addNode(source)
    .addNode(classifier())
    .addNode(handler('normal-handler', 'normal', false, 'default'))
    .addNode(handler('high-handler', 'high', true, 'default'))
    .addNode(handler('low-handler', 'low', true, 'default'))
    .addNode(handler('critical-handler', 'critical', true, 'terminate'))
    .setRoute(source.id, 'default', 'classifier')
    .setRoute('classifier', 'normal', 'normal-handler')
    .setRoute('classifier', 'high', 'high-handler')
    .setRoute('classifier', 'low', 'low-handler')
    .setRoute('classifier', 'critical', 'critical-handler')
}

async function main(): Promise<void> {
  const source = new ChannelEventSource<TemperatureEvent>(64, 'sensors')
  const ctx = newTemperatureContext()
  const run = buildTemperatureWorkflow(source).execute(ctx, { timeoutMs: 10_000 })
  const readings: [string, number][] = [
    ['sensor-1', 21.5],
    ['sensor-2', 33.0],
    ['sensor-3', 7.5],
    ['sensor-1', 22.0],
    ['sensor-2', 35.5],
    ['sensor-3', 9.0],
    ['sensor-1', 42.0],
    ['sensor-2', 25.0],
  ]
  for (const [sensorId, celsius] of readings) {
    await source.send({ sensorId, celsius, ts: Date.now() })
  }
  const result: EventRunResult<TemperatureEvent> = await run
  console.log(`run ended: ${result.reason} (by ${result.terminatedBy ?? '-'})`)
  console.log(`events processed: ${result.eventsProcessed}, left in the channel: ${source.size}`)
  console.log('handled:', JSON.stringify(ctx.handled))
  console.log('alerts:')
  for (const a of ctx.alerts) console.log(`  ${a}`)
  console.log('running averages:')
  for (const [id, { count, mean }] of ctx.averages) {
    console.log(`  ${id}: ${mean.toFixed(2)} °C over ${count} readings`)
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
