import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  connectClient,
  type RunningGateway,
  startGateway,
  type TestConfig,
  telemetry,
  writeTestConfig,
} from '../daemon/harness.js'
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js'
import { mosquittoSub } from './mosquitto-sub.js'

let mosquitto: Mosquitto
let cfg: TestConfig
let gw: RunningGateway | undefined

beforeAll(async () => {
  mosquitto = await startMosquitto()
})
afterAll(async () => {
  await gw?.stop()
  await mosquitto?.close()
  cfg?.cleanup()
})

const config = (devices: unknown[]) => ({
  broker: { mode: 'external', external: { url: mosquitto.url } },
  homeassistant: { enabled: true },
  devices,
})

const topic = (device: string) =>
  `homeassistant/sensor/floxgate_gw-test_${device}_temperature/config`

it('on an external Mosquitto, a device removed while floxgate was stopped loses its retained config at the next start; an unknown device keeps its', async () => {
  cfg = await writeTestConfig(
    config([
      { id: 'loft', profile: 'dht22' },
      { id: 'cellar', profile: 'ds18b20' },
    ]),
  )
  gw = await startGateway(cfg.file)
  const sensor = await connectClient(mosquitto.port, { protocolVersion: 5 })
  await sensor.client.publishAsync(
    'sensors/porch/telemetry',
    telemetry({ temperature: 9 }, Date.now()),
    { qos: 1 },
  )
  const first = await mosquittoSub(mosquitto.port, ['homeassistant/#'])
  await first.latest(topic('loft'))
  await first.latest(topic('cellar'))
  await first.latest(topic('porch'))
  first.close()
  await sensor.close()
  await gw.stop()

  // While floxgate is stopped the owner removes cellar from the config.
  cfg.rewrite(config([{ id: 'loft', profile: 'dht22' }]))
  gw = await startGateway(cfg.file)
  const ha = await mosquittoSub(mosquitto.port, ['homeassistant/#'])
  await ha.latest(topic('loft'))
  await ha.latest(topic('porch'))
  // Mosquitto holds retained messages across the gateway's restart: cellar's is gone
  // only because the gateway published the empty config. Fresh subscribers until a
  // retained cellar config no longer comes (bounded by the deadline).
  const deadline = Date.now() + 3000
  let fresh: string[] = []
  while (Date.now() < deadline) {
    const probe = await mosquittoSub(mosquitto.port, [topic('cellar'), topic('loft')])
    await probe.latest(topic('loft'))
    fresh = probe.messages.filter((m) => m.topic === topic('cellar')).map((m) => m.payload)
    probe.close()
    if (fresh.length === 0) break
  }
  ha.close()
  expect(fresh).toEqual([])
})
