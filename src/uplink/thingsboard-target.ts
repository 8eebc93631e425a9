import type { MqttClient } from 'mqtt'
import { endpointName } from '../mqtt/endpoint.js'
import type { OutboxRow } from '../store/outbox.js'
import { clientOptions, MqttSession } from './mqtt-session.js'
import type { MqttSessionOptions } from './options.js'
import { type RowValue, rowValue } from './row-values.js'
import type { Delivery, TargetEvents, UplinkTarget } from './target.js'

export interface ThingsBoardOptions {
  /** The MQTT session; `username` is the gateway device's access token. */
  readonly session: MqttSessionOptions
  /** Alerts as time series (`telemetry`, the default) or as the device's latest state (`attributes`). */
  readonly alertsAs: 'telemetry' | 'attributes'
  /** Rows per telemetry message; default 100. */
  readonly batchRows?: number
}

export const TB_TOPICS = {
  connect: 'v1/gateway/connect',
  disconnect: 'v1/gateway/disconnect',
  telemetry: 'v1/gateway/telemetry',
  attributes: 'v1/gateway/attributes',
} as const

type Telemetry = Record<string, { ts: number; values: Record<string, number | string | boolean> }[]>
type Attributes = Record<string, Record<string, number | string | boolean>>

/**
 * ThingsBoard's gateway MQTT API (`kind: thingsboard`). Each device is announced on
 * `v1/gateway/connect` the first time a session sends for it; a batch of rows becomes one
 * `v1/gateway/telemetry` message `{"<device>": [{"ts": ms, "values": {...}}]}` (readings
 * of one device and time share an entry), alerts go as telemetry keys `alert.<rule>` or,
 * with `alertsAs: attributes`, as attributes on `v1/gateway/attributes`. All QoS 1 on one
 * connection, so ThingsBoard sees the connect before the data and each device in order.
 */
export class ThingsBoardTarget implements UplinkTarget {
  readonly kind = 'thingsboard'
  readonly batchRows: number
  readonly batchDelayMs = 0
  readonly endpoint: string
  private readonly session: MqttSession
  /** Devices announced on the current connection. */
  private connected = new Set<string>()
  /** Devices removed from the config whose disconnect ThingsBoard has not acknowledged. */
  private readonly removed = new Set<string>()

  constructor(private readonly o: ThingsBoardOptions) {
    const s = o.session
    this.endpoint = endpointName(s)
    this.batchRows = o.batchRows ?? 100
    // No Last Will: ThingsBoard has no use for floxgate's status topic.
    this.session = new MqttSession(clientOptions(s, false), (client) => {
      this.connected = new Set()
      this.announceRemoved(client)
    })
  }

  open(events: TargetEvents): void {
    this.session.open(events)
  }

  send(rows: readonly OutboxRow[], done: (d: Delivery) => void): void {
    const client = this.session.current as MqttClient
    const telemetry: Telemetry = {}
    const attributes: Attributes = {}
    const fresh: string[] = []
    for (const row of rows) {
      let v: RowValue | undefined
      try {
        v = rowValue(row)
      } catch {
        v = undefined
      }
      if (v === undefined || v.device === null) continue // nothing ThingsBoard can file
      if (!this.connected.has(v.device)) {
        this.connected.add(v.device)
        fresh.push(v.device)
      }
      this.add(v, v.device, telemetry, attributes)
    }
    const messages: { topic: string; payload: string }[] = fresh.map((device) => ({
      topic: TB_TOPICS.connect,
      payload: JSON.stringify({ device }),
    }))
    if (Object.keys(telemetry).length > 0)
      messages.push({ topic: TB_TOPICS.telemetry, payload: JSON.stringify(telemetry) })
    if (Object.keys(attributes).length > 0)
      messages.push({ topic: TB_TOPICS.attributes, payload: JSON.stringify(attributes) })
    this.publishAll(client, messages, done)
  }

  /**
   * Announces on `v1/gateway/disconnect` that a device is gone (a reload removed it from
   * the config). While the upstream is unreachable the announcement waits in memory and
   * goes out first on the next connection (a restart forgets it: the device then stays
   * "connected" in ThingsBoard until its inactivity timeout).
   */
  deviceRemoved(device: string): void {
    this.connected.delete(device)
    this.removed.add(device)
    const client = this.session.current
    if (client?.connected === true) this.announceRemoved(client)
  }

  private announceRemoved(client: MqttClient): void {
    for (const device of this.removed) {
      client.publish(TB_TOPICS.disconnect, JSON.stringify({ device }), { qos: 1 }, (err) => {
        // Delivered: forget it. Refused or lost: kept for the next connection.
        if (!err && this.session.current === client) this.removed.delete(device)
      })
    }
  }

  reset(): void {
    this.session.reset()
  }

  close(timeoutMs: number): Promise<void> {
    return this.session.close(timeoutMs)
  }

  private publishAll(
    client: MqttClient,
    messages: readonly { topic: string; payload: string }[],
    done: (d: Delivery) => void,
  ): void {
    let pending = messages.length
    if (pending === 0) {
      done({ kind: 'delivered' })
      return
    }
    let failed = false
    for (const m of messages) {
      client.publish(m.topic, m.payload, { qos: 1 }, (err) => {
        if (this.session.current !== client || failed) return
        if (err) {
          failed = true
          done({ kind: 'failed', error: err })
        } else if (--pending === 0) done({ kind: 'delivered' })
      })
    }
  }

  private add(v: RowValue, device: string, t: Telemetry, a: Attributes): void {
    const entry = (ts: number): Record<string, number | string | boolean> => {
      t[device] ??= []
      const list = t[device]
      const last = list[list.length - 1]
      // Readings of one device and time share an entry: {"temperature": 21.4, "humidity": 48}.
      if (last !== undefined && last.ts === ts) return last.values
      const e = { ts, values: {} as Record<string, number | string | boolean> }
      list.push(e)
      return e.values
    }
    switch (v.stream) {
      case 'readings':
        entry(v.ts)[v.metric] = v.value
        return
      case 'aggregates': {
        const values = entry(v.windowStart)
        const m = v.metric
        values[`${m}.mean`] = v.mean
        values[`${m}.min`] = v.min
        values[`${m}.max`] = v.max
        values[`${m}.last`] = v.last
        values[`${m}.count`] = v.count
        return
      }
      case 'alerts': {
        const key = `alert.${v.rule}`
        if (this.o.alertsAs === 'attributes') {
          a[device] ??= {}
          const attrs = a[device]
          attrs[key] = v.state
          attrs[`${key}.severity`] = v.severity
          // A stale alert has no value: left out, as in telemetry (values are never null).
          if (v.value !== null) attrs[`${key}.value`] = v.value
          attrs[`${key}.since`] = v.since
          return
        }
        const values = entry(v.ts)
        values[key] = v.state
        values[`${key}.severity`] = v.severity
        if (v.value !== null) values[`${key}.value`] = v.value
        return
      }
      case 'dead-letters':
        entry(v.receivedAt)['deadLetter.reason'] = v.reason
        return
    }
  }
}
