import type { MqttClient } from 'mqtt'
import { ExternalBroker } from '../../src/broker/external.js'
import { startMosquitto } from '../helpers/mosquitto.js'
import { type GatewaySide, intakeConformance, SENSOR_FILTER } from './conformance.js'

/**
 * External mode: sensors publish to a real Mosquitto, which acknowledges them itself;
 * the PUBACK that matters is the gateway's to Mosquitto, counted on the gateway's
 * connection. A message not acknowledged stays in the gateway's persistent session and
 * Mosquitto redelivers it when the gateway reconnects with the same client id.
 */
intakeConformance('external broker (Mosquitto)', async () => {
  const mosq = await startMosquitto()
  let current: ExternalBroker | undefined
  const start = async (): Promise<GatewaySide> => {
    const b = ExternalBroker.connect({
      url: mosq.url,
      clientId: 'floxgate-conformance',
      sensorTopics: [SENSOR_FILTER],
      reconnect: { initialMs: 50, maxMs: 500 },
    })
    current = b
    await b.whenConnected()
    return {
      intake: b.intake,
      publisher: b.publisher,
      acknowledged: () => b.acknowledged,
      close: () => b.close(),
    }
  }
  return {
    port: mosq.port,
    startGateway: start,
    async fence() {
      // same connection as the gateway's PUBACKs: packets on it stay in order
      if (current?.connected)
        await current.publisher.publish('fence/x', 'x', { qos: 1, retain: false })
    },
    sensorPublish: (sensor: MqttClient, topic: string, payload: string) =>
      sensor.publishAsync(topic, payload, { qos: 1 }),
    close: async () => {
      await current?.close()
      await mosq.close()
    },
  }
})
