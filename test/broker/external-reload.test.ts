import mqtt from 'mqtt'
import { afterEach, expect, it } from 'vitest'
import { ExternalBroker } from '../../src/broker/external.js'
import type { SensorMessage } from '../../src/broker/intake.js'
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js'
import { waitFor } from '../helpers/wait.js'

let mosq: Mosquitto | undefined
let gw: ExternalBroker | undefined
afterEach(async () => {
  await gw?.close()
  await mosq?.close()
})

it('a reload changes the subscriptions of the persistent session', async () => {
  mosq = await startMosquitto()
  gw = ExternalBroker.connect({
    url: mosq.url,
    clientId: 'floxgate-ext-reload',
    sensorTopics: ['old/+/telemetry'],
  })
  const got: SensorMessage[] = []
  gw.intake.onMessage((m) => {
    got.push(m)
    m.ack()
  })
  await gw.intake.start()
  await gw.whenConnected()
  gw.setSensorTopics(['new/+/telemetry'])
  const sensor = await mqtt.connectAsync({ host: '127.0.0.1', port: mosq.port, reconnectPeriod: 0 })
  try {
    // Until the new subscription is in place, retry the marker; the old topic must
    // never be delivered once the unsubscribe went through (published after it).
    await waitFor(
      async () => {
        await sensor.publishAsync('new/d/telemetry', 'fresh', { qos: 1 })
        return got.some((m) => m.topic === 'new/d/telemetry')
      },
      { what: 'delivery on the new topic', intervalMs: 50 },
    )
    await sensor.publishAsync('old/d/telemetry', 'stale', { qos: 1 })
    await sensor.publishAsync('new/d/telemetry', 'marker', { qos: 1 })
    await waitFor(() => got.some((m) => m.payload.toString() === 'marker'), { what: 'marker' })
    expect(got.filter((m) => m.topic.startsWith('old/'))).toEqual([])
  } finally {
    await sensor.endAsync()
  }
})
