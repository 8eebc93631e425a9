import { connect, type IClientOptions, type MqttClient } from 'mqtt'
import { clientOptions as mqttClientOptions } from '../mqtt/client-options.js'
import { statusPayload } from '../mqtt/status.js'
import type { MqttSessionOptions } from './options.js'
import type { TargetEvents } from './target.js'

/** MQTT.js options for one connection attempt to an upstream broker; `will`: the offline status. */
export function clientOptions(o: MqttSessionOptions, will = true): IClientOptions {
  return mqttClientOptions({
    ...o,
    // Reconnection is the forwarder's (capped exponential backoff with jitter).
    reconnectPeriod: 0,
    will: will
      ? { topic: o.statusTopic, payload: statusPayload(o.gatewayId, o.version, 'offline') }
      : undefined,
  })
}

/**
 * One MQTT.js connection of an MQTT-based target: a fresh client per session, so nothing
 * sits in MQTT.js' in-memory queue across reconnects (the outbox is the only queue).
 * `current` is the live client; callbacks of an abandoned one are ignored by comparing.
 */
export class MqttSession {
  current: MqttClient | undefined

  constructor(
    private readonly options: IClientOptions,
    private readonly onUp: (client: MqttClient) => void = () => {},
  ) {}

  open(events: TargetEvents): void {
    const client = connect(this.options)
    this.current = client
    let lastError: unknown
    client.on('connect', () => {
      if (this.current !== client) return
      this.onUp(client)
      events.up()
    })
    client.on('error', (err) => {
      lastError = err
      if (this.current === client) events.error(err)
    })
    client.on('close', () => {
      if (this.current !== client) return
      this.current = undefined
      // Drops MQTT.js' in-memory copy of what was in flight: the table is the only queue.
      client.end(true)
      events.down(lastError)
    })
  }

  reset(): void {
    const c = this.current
    this.current = undefined
    c?.end(true)
  }

  /** Publishes `last` (e.g. the offline status), then disconnects cleanly, within `ms`. */
  async close(ms: number, last?: { topic: string; payload: Buffer }): Promise<void> {
    const client = this.current
    this.current = undefined
    if (client === undefined) return
    if (!client.connected) {
      client.end(true)
      return
    }
    if (last !== undefined) {
      await withTimeout(
        new Promise<void>((r) =>
          client.publish(last.topic, last.payload, { qos: 1, retain: true }, () => r()),
        ),
        ms,
      )
    }
    const ended = await withTimeout(
      new Promise<boolean>((r) => client.end(false, {}, () => r(true))),
      ms,
    )
    if (ended !== true) client.end(true)
  }
}

/** Resolves with the promise's value, or undefined after `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms)
  })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}
