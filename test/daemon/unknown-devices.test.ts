import { afterEach, expect, it } from 'vitest'
import {
  connectClient,
  type RunningGateway,
  startGateway,
  type TestConfig,
  telemetry,
  writeTestConfig,
} from './harness.js'

let cfg: TestConfig | undefined
let gw: RunningGateway | undefined

afterEach(async () => {
  await gw?.stop()
  cfg?.cleanup()
  gw = undefined
  cfg = undefined
})

async function run(policy: 'accept' | 'dead-letter'): Promise<RunningGateway> {
  cfg = await writeTestConfig({
    devices: [{ id: 'known', profile: 'dht22' }],
    unknownDevices: { policy, profile: 'generic' },
  })
  gw = await startGateway(cfg.file)
  const c = await connectClient(gw.port)
  const ts = Date.now() - 60_000
  await c.client.publishAsync('sensors/known/telemetry', telemetry({ temperature: 20 }, ts), {
    qos: 1,
  })
  // 150 °C: outside a DHT22's range, inside the generic profile's (-100..200).
  await c.client.publishAsync('sensors/stranger/telemetry', telemetry({ temperature: 150 }, ts), {
    qos: 1,
  })
  await c.close()
  return gw
}

it('policy accept: an unknown device is stored with the generic profile', async () => {
  const g = await run('accept')
  expect(g.db.readings('known').map((r) => r.value)).toEqual([20])
  expect(g.db.readings('stranger').map((r) => r.value)).toEqual([150])
  expect(g.db.deadLetters()).toEqual([])
})

it('policy dead-letter: an unknown device is kept as a dead letter, the known one stored', async () => {
  const g = await run('dead-letter')
  expect(g.db.readings('known').map((r) => r.value)).toEqual([20])
  expect(g.db.readings('stranger')).toEqual([])
  const dl = g.db.deadLetters()
  expect(dl.map((d) => [d.topic, d.reason, d.device])).toEqual([
    ['sensors/stranger/telemetry', 'unknown-device', 'stranger'],
  ])
})
