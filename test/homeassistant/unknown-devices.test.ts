/**
 * Unknown devices (accepted with the generic profile) in Home Assistant: their entities
 * follow the config like configured devices' do (a rule removed by a reload loses its
 * binary sensor, a new rule gains one), and they go away with the device: when it is
 * forgotten (`unknownDevices.forgetAfterSeconds`), or at a start if it fell silent that
 * long before. Otherwise random ids would pile up retained configs in the broker and rows
 * in `ha_discovery` for ever.
 */
import { afterEach, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import {
  connectClient,
  type RecordingClient,
  type RunningGateway,
  startGateway,
  type TestConfig,
  telemetry,
  writeTestConfig,
} from '../daemon/harness.js'
import { waitFor } from '../helpers/wait.js'
import { type MosquittoSub, mosquittoSub } from './mosquitto-sub.js'

let cfg: TestConfig | undefined
let gw: RunningGateway | undefined
let sensor: RecordingClient | undefined
const subs: MosquittoSub[] = []

afterEach(async () => {
  for (const s of subs.splice(0)) s.close()
  await sensor?.close()
  await gw?.stop()
  cfg?.cleanup()
})

const overheat = { id: 'overheat', metric: 'temperature', high: 30 }
const frost = { id: 'frost', metric: 'temperature', low: 2 }
const dry = { id: 'dry', metric: 'humidity', low: 30 }

const sensorTopic = (d: string) => `homeassistant/sensor/floxgate_gw-test_${d}_temperature/config`
const problemTopic = (d: string, rule: string) =>
  `homeassistant/binary_sensor/floxgate_gw-test_${d}_${rule}_problem/config`

async function homeAssistant(port: number): Promise<MosquittoSub> {
  const s = await mosquittoSub(port, ['homeassistant/#', 'floxgate/gw-test/ha/#'])
  subs.push(s)
  return s
}

/**
 * The retained messages a Home Assistant connecting now gets, once every topic of
 * `present` has arrived (both subscriptions' retained messages stream in on their own;
 * an absence is asserted only next to presences from the same filter).
 */
async function retainedNow(port: number, present: string[]): Promise<Map<string, string>> {
  const s = await homeAssistant(port)
  for (const t of present) await s.latest(t, (m) => m.retained && m.payload !== '')
  return new Map(s.messages.filter((m) => m.retained).map((m) => [m.topic, m.payload]))
}

async function start(forgetAfterSeconds: number, rules: unknown[]): Promise<MosquittoSub> {
  cfg = await writeTestConfig({
    homeassistant: { enabled: true },
    unknownDevices: { policy: 'accept', forgetAfterSeconds },
    // Forgetting is checked with the stale rules.
    alerts: { staleCheckSeconds: 0.5 },
    rules,
  })
  gw = await startGateway(cfg.file)
  sensor = await connectClient(gw.port)
  await sensor.client.publishAsync(
    'sensors/porch/telemetry',
    telemetry({ temperature: 12 }, Date.now()),
    { qos: 1 },
  )
  const ha = await homeAssistant(gw.port)
  await ha.latest(sensorTopic('porch'))
  return ha
}

it("an unknown device's entities follow the rules on reload", async () => {
  const ha = await start(600, [overheat, frost])
  await ha.latest(problemTopic('porch', 'frost'))

  cfg!.rewrite({ rules: [overheat, dry] })
  gw!.gateway.reload(loadConfig(cfg!.file))
  await ha.latest(problemTopic('porch', 'frost'), (m) => m.payload === '', "porch's frost removed")
  const dryConfig = await ha.latest(problemTopic('porch', 'dry'))
  expect(JSON.parse(dryConfig.payload)).toMatchObject({ device_class: 'problem' })
  const now = await retainedNow(gw!.port, [
    problemTopic('porch', 'dry'),
    sensorTopic('porch'),
    problemTopic('porch', 'overheat'),
    'floxgate/gw-test/ha/porch/problem/dry',
    'floxgate/gw-test/ha/porch/problem/overheat',
  ])
  expect(now.has(problemTopic('porch', 'frost'))).toBe(false)
  expect(now.has('floxgate/gw-test/ha/porch/problem/frost')).toBe(false)
  expect(JSON.parse(now.get('floxgate/gw-test/ha/porch/problem/dry') ?? '{}')).toMatchObject({
    state: 'OFF',
  })
})

it('a forgotten unknown device loses its entities and states, and is announced again when heard', async () => {
  const ha = await start(1, [overheat])
  await waitFor(() => gw!.logs.some((l) => l.msg.startsWith('forgot unknown devices')) || undefined)
  await ha.latest(sensorTopic('porch'), (m) => m.payload === '', "porch's sensor removed")
  await ha.latest(problemTopic('porch', 'overheat'), (m) => m.payload === '', 'overheat removed')
  await ha.latest('floxgate/gw-test/ha/porch/temperature', (m) => m.payload === '')
  await ha.latest('floxgate/gw-test/ha/porch/problem/overheat', (m) => m.payload === '')
  const gone = await retainedNow(gw!.port, [
    'homeassistant/binary_sensor/floxgate_gw-test_status/config',
  ])
  expect([...gone.keys()].filter((t) => t.includes('porch'))).toEqual([])

  await sensor!.client.publishAsync(
    'sensors/porch/telemetry',
    telemetry({ temperature: 13 }, Date.now()),
    { qos: 1 },
  )
  await ha.latest(sensorTopic('porch'), (m) => m.payload !== '', 'porch announced again')
  await ha.latest(problemTopic('porch', 'overheat'), (m) => m.payload !== '')
})

it('at a start, an unknown device heard lately keeps its entities; one silent past forgetAfterSeconds loses them', async () => {
  cfg = await writeTestConfig({
    homeassistant: { enabled: true },
    unknownDevices: { policy: 'accept', forgetAfterSeconds: 60 },
    rules: [overheat],
  })
  gw = await startGateway(cfg.file)
  sensor = await connectClient(gw.port)
  // The shed's last reading was taken 10 minutes ago (its own timestamp); the porch's now.
  await sensor.client.publishAsync(
    'sensors/shed/telemetry',
    telemetry({ temperature: 8 }, Date.now() - 600_000),
    { qos: 1 },
  )
  await sensor.client.publishAsync(
    'sensors/porch/telemetry',
    telemetry({ temperature: 12 }, Date.now()),
    { qos: 1 },
  )
  const before = await homeAssistant(gw.port)
  await before.latest(sensorTopic('shed'))
  await before.latest(sensorTopic('porch'))
  await sensor.close()
  sensor = undefined
  await gw.stop()

  gw = await startGateway(cfg.file)
  // The embedded broker lost its retained messages with the restart: what Home Assistant
  // sees now is what the start published.
  const after = await retainedNow(gw.port, [
    sensorTopic('porch'),
    problemTopic('porch', 'overheat'),
    'floxgate/gw-test/ha/porch/problem/overheat',
  ])
  expect(JSON.parse(after.get('floxgate/gw-test/ha/porch/problem/overheat') ?? '{}')).toMatchObject(
    { state: 'OFF', threshold: 30 },
  )
  expect([...after.keys()].filter((t) => t.includes('shed'))).toEqual([])
  expect(gw.logs.find((l) => l.msg.startsWith('Home Assistant discovery:'))?.msg).toMatch(
    /, 2 removed$/,
  )
})

it('announces at most homeassistant.maxUnknownDevices unknown devices: the rest publish nothing to Home Assistant', async () => {
  cfg = await writeTestConfig({
    homeassistant: { enabled: true, maxUnknownDevices: 2 },
    rules: [overheat],
  })
  gw = await startGateway(cfg.file)
  sensor = await connectClient(gw.port)
  for (const d of ['one', 'two', 'three']) {
    await sensor.client.publishAsync(
      `sensors/${d}/telemetry`,
      telemetry({ temperature: 35 }, Date.now()),
      {
        qos: 1,
      },
    )
  }
  // All three are stored and alerted on as usual.
  await waitFor(() => gw!.db.alerts().length === 3 || undefined)
  const now = await retainedNow(gw.port, [
    problemTopic('two', 'overheat'),
    sensorTopic('one'),
    'floxgate/gw-test/ha/one/temperature',
    'floxgate/gw-test/ha/two/problem/overheat',
  ])
  expect(now.get('floxgate/gw-test/ha/two/problem/overheat')).toMatch(/"state":"ON"/)
  // Nothing of the third: no config, no value, no rule state retained in the broker.
  expect([...now.keys()].filter((t) => t.includes('three'))).toEqual([])
  const warned = gw.logs.filter((l) => String(l.msg).includes('homeassistant.maxUnknownDevices'))
  expect(warned.map((l) => l.device)).toEqual(['three'])
})
