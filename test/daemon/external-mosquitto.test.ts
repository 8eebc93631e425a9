import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js'
import { waitFor } from '../helpers/wait.js'
import {
  type AlertMessage,
  connectClient,
  type RecordingClient,
  type RunningGateway,
  startGateway,
  subscribed,
  type TestConfig,
  telemetry,
  writeTestConfig,
} from './harness.js'

let mosquitto: Mosquitto
let cfg: TestConfig
let gw: RunningGateway
let watcher: RecordingClient

beforeAll(async () => {
  mosquitto = await startMosquitto()
  cfg = await writeTestConfig({
    broker: { mode: 'external', external: { url: mosquitto.url } },
    rules: [{ id: 'too-hot', metric: 'temperature', high: 30 }],
  })
  gw = await startGateway(cfg.file)
  watcher = await subscribed(mosquitto.port, 'floxgate/#')
  // The gateway's retained online status on Mosquitto says its subscriptions are up.
  await waitFor(
    () =>
      watcher.received.some(
        (m) => m.topic === 'floxgate/gw-test/status' && m.payload.includes('online'),
      ),
    {
      what: 'the gateway online on Mosquitto',
    },
  )
})
afterAll(async () => {
  await watcher?.close()
  await gw?.stop()
  await mosquitto?.close()
  cfg?.cleanup()
})

it('a reading published to Mosquitto is stored, and its alert appears on Mosquitto', async () => {
  const sensor = await connectClient(mosquitto.port)
  const ts = Date.now() - 10_000
  // Mosquitto PUBACKs on receipt, not on the gateway's commit: wait for the row.
  await sensor.client.publishAsync('sensors/boiler/telemetry', telemetry({ temperature: 21 }, ts), {
    qos: 1,
  })
  await sensor.client.publishAsync('sensors/boiler/temperature', '35.5', { qos: 1 })
  await sensor.close()
  const rows = await waitFor(
    () => {
      const r = gw.db.readings('boiler')
      return r.length === 2 ? r : undefined
    },
    { what: 'both readings in SQLite' },
  )
  expect(rows.map((r) => r.value).sort()).toEqual([21, 35.5])

  const alert = await waitFor(
    () => watcher.json<AlertMessage>('floxgate/alerts/boiler/temperature/too-hot')[0],
    {
      what: 'the alert on Mosquitto',
    },
  )
  expect(alert).toMatchObject({ device: 'boiler', rule: 'too-hot', state: 'raised', value: 35.5 })
  expect(gw.db.alerts().map((a) => [a.device, a.state])).toEqual([['boiler', 'raised']])
})
