/**
 * What the gateway publishes, on its own broker and upstream: topics and JSON payloads of
 * alerts, aggregates, readings and dead letters, in one place so both sides agree.
 */

import {
  type Aggregate,
  type AlertEvent,
  alertRecord,
  type DeadLetter,
  type Reading,
} from '../gateway/reading.js'
import { fillTopic } from '../gateway/topic-pattern.js'
import type { OutboxEntry } from '../store/types.js'

export type Stream = 'readings' | 'aggregates' | 'alerts' | 'dead-letters'

export interface OutputTopics {
  readonly gateway: string
  /** e.g. `floxgate/alerts/{device}/{metric}`; `/{rule}` is appended when absent. */
  readonly alerts: string
  readonly aggregates: string
}

/**
 * One retained message per device, metric and rule: two rules on one metric (a high
 * threshold and a rate of change) must not overwrite each other's retained state.
 */
export function alertTopic(t: OutputTopics, a: AlertEvent): string {
  const values = { gateway: t.gateway, device: a.device, metric: a.metric ?? 'any', rule: a.rule }
  const topic = fillTopic(t.alerts, values)
  return t.alerts.includes('{rule}') ? topic : `${topic}/${a.rule}`
}

export function aggregateTopic(t: OutputTopics, a: Aggregate): string {
  return fillTopic(t.aggregates, { gateway: t.gateway, device: a.device, metric: a.metric })
}

export function alertPayload(a: AlertEvent): string {
  return JSON.stringify({ ...alertRecord(a), time: new Date(a.ts).toISOString() })
}

export function aggregatePayload(gateway: string, a: Aggregate): string {
  return JSON.stringify({ gateway, ...a })
}

/** Upstream topics are relative: the forwarder prepends the uplink's topic prefix. */
export const upstream = {
  reading(r: Reading): OutboxEntry {
    return {
      stream: 'readings',
      topic: `readings/${r.device}/${r.metric}`,
      payload: `{"device":${JSON.stringify(r.device)},"metric":"${r.metric}","value":${r.value},"ts":${r.ts}}`,
    }
  },
  aggregate(gateway: string, a: Aggregate): OutboxEntry {
    return {
      stream: 'aggregates',
      topic: `aggregates/${a.device}/${a.metric}`,
      payload: aggregatePayload(gateway, a),
    }
  },
  alert(a: AlertEvent): OutboxEntry {
    return {
      stream: 'alerts',
      topic: `alerts/${a.device}/${a.metric ?? 'any'}/${a.rule}`,
      payload: alertPayload(a),
    }
  },
  deadLetter(d: DeadLetter): OutboxEntry {
    return {
      stream: 'dead-letters',
      topic: `dead-letters/${d.device ?? 'unknown'}`,
      payload: JSON.stringify({
        topic: d.topic,
        reason: d.reason,
        detail: d.detail,
        device: d.device ?? null,
        receivedAt: d.receivedAt,
        payload: d.payload.subarray(0, 1024).toString('base64'),
      }),
    }
  },
}
