import type { MqttClient } from 'mqtt'
import { endpointName } from '../mqtt/endpoint.js'
import { statusPayload } from '../mqtt/status.js'
import type { OutboxRow } from '../store/outbox.js'
import { clientOptions, MqttSession } from './mqtt-session.js'
import { joinTopic, type MqttSessionOptions } from './options.js'
import type { Delivery, TargetEvents, UplinkTarget } from './target.js'

/**
 * floxgate's own JSON over MQTT (`kind: mqtt`): each row is one QoS 1 publish on
 * `<topicPrefix>/<row topic>`, with a retained online/offline status and Last Will.
 */
export class MqttTarget implements UplinkTarget {
  readonly kind = 'mqtt'
  readonly batchRows = 1
  readonly batchDelayMs = 0
  readonly endpoint: string
  private readonly session: MqttSession

  constructor(private readonly o: MqttSessionOptions) {
    this.endpoint = endpointName(o)
    this.session = new MqttSession(clientOptions(o), (client) => {
      client.publish(o.statusTopic, this.status('online'), { qos: 1, retain: true })
    })
  }

  open(events: TargetEvents): void {
    this.session.open(events)
  }

  send(rows: readonly OutboxRow[], done: (d: Delivery) => void): void {
    const client = this.session.current as MqttClient
    const row = rows[0]!
    client.publish(joinTopic(this.o.topicPrefix, row.topic), row.payload, { qos: 1 }, (err) => {
      if (this.session.current !== client) return // abandoned: the row is sent again
      // A refused publish (MQTT 5 reason code): keep the row, reconnect and retry later.
      done(err ? { kind: 'failed', error: err } : { kind: 'delivered' })
    })
  }

  reset(): void {
    this.session.reset()
  }

  close(timeoutMs: number): Promise<void> {
    return this.session.close(timeoutMs, {
      topic: this.o.statusTopic,
      payload: this.status('offline'),
    })
  }

  private status(state: 'online' | 'offline'): Buffer {
    return statusPayload(this.o.gatewayId, this.o.version, state)
  }
}
