import type { MqttClient } from 'mqtt'
import { EmbeddedBroker } from '../../src/broker/embedded.js'
import { freePort } from '../helpers/net.js'
import { connectClient, type GatewaySide, intakeConformance, SENSOR_FILTER } from './conformance.js'

/**
 * Embedded mode: the PUBACK is measured on the publishing sensor (its publish promise
 * resolves only when the broker's PUBACK arrives). After a restart the sensor, still
 * holding the unacknowledged message, reconnects and resends it.
 */
intakeConformance('embedded aedes broker', async () => {
  const port = await freePort()
  let acked = 0
  let broker: EmbeddedBroker | undefined
  const start = async (): Promise<GatewaySide> => {
    const b = await EmbeddedBroker.start({
      tcp: { host: '127.0.0.1', port },
      sensorTopics: [SENSOR_FILTER],
      allowAnonymous: true,
      anonymousAcl: { publish: ['#'], subscribe: ['#'] },
    })
    broker = b
    return {
      intake: b.intake,
      publisher: b.publisher,
      acknowledged: () => acked,
      close: () => b.close(),
    }
  }
  return {
    port,
    startGateway: start,
    async fence() {
      const c = await connectClient(port)
      await c.publishAsync('fence/x', 'x', { qos: 1 })
      await c.endAsync(true)
    },
    async sensorPublish(sensor: MqttClient, topic: string, payload: string) {
      await sensor.publishAsync(topic, payload, { qos: 1 })
      acked++
    },
    close: async () => {
      await broker?.close()
    },
  }
})
