import { afterAll, beforeAll, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import {
  connectClient,
  publishSeries,
  type RecordingClient,
  type RunningGateway,
  startGateway,
  type TestConfig,
  telemetry,
  writeTestConfig,
} from '../daemon/harness.js'
import { waitFor } from '../helpers/wait.js'
import { type MosquittoSub, mosquittoSub } from './mosquitto-sub.js'

// Not Home Assistant's default: homeassistant.discoveryPrefix decides every config topic
// (external-restart.test.ts runs with the default, `homeassistant`).
const PREFIX = 'ha-discovery'
let cfg: TestConfig
let gw: RunningGateway
let sensor: RecordingClient
const subs: MosquittoSub[] = []

const devices = [
  { id: 'loft', profile: 'dht22', name: 'Loft sensor', location: 'attic' },
  // "." is a valid floxgate id but not a valid Home Assistant object id.
  { id: 'shed.1', profile: 'bme280' },
]

beforeAll(async () => {
  cfg = await writeTestConfig({
    homeassistant: { enabled: true, discoveryPrefix: PREFIX },
    // A metric Home Assistant has no device class for: its sensor keeps the declared unit.
    metrics: { radon: { unit: 'Bq/m³', min: 0, max: 10000 } },
    // Flat JSON as the other tests send, and a preset whose units differ from the stored.
    sensors: {
      topics: [
        { pattern: 'sensors/{device}/telemetry', format: 'json' },
        { preset: 'zigbee2mqtt' },
      ],
    },
    devices,
    rules: [{ id: 'overheat', metric: 'temperature', high: 30, severity: 'critical' }],
  })
  gw = await startGateway(cfg.file)
  sensor = await connectClient(gw.port)
})
afterAll(async () => {
  for (const s of subs) s.close()
  await sensor?.close()
  await gw?.stop()
  cfg?.cleanup()
})

/** A fresh mosquitto_sub, as Home Assistant connecting after the gateway published. */
async function homeAssistant(): Promise<MosquittoSub> {
  const s = await mosquittoSub(gw.port, [`${PREFIX}/#`, 'floxgate/#'])
  subs.push(s)
  return s
}

const loftTemp = `${PREFIX}/sensor/floxgate_gw-test_loft_temperature/config`

it('publishes a retained config per device and metric that Home Assistant accepts', async () => {
  const ha = await homeAssistant()
  const m = await ha.latest(loftTemp)
  expect(m.retained).toBe(true)
  expect(JSON.parse(m.payload)).toEqual({
    name: 'Temperature',
    unique_id: 'floxgate_gw-test_loft_temperature',
    state_topic: 'floxgate/gw-test/ha/loft/temperature',
    device_class: 'temperature',
    state_class: 'measurement',
    unit_of_measurement: '°C',
    availability_topic: 'floxgate/gw-test/status',
    availability_template: '{{ value_json.state }}',
    payload_available: 'online',
    payload_not_available: 'offline',
    device: {
      identifiers: ['floxgate_gw-test_loft'],
      name: 'Loft sensor',
      model: 'DHT22 (AM2302)',
      model_id: 'dht22',
      manufacturer: 'floxgate',
      suggested_area: 'attic',
      via_device: 'floxgate_gw-test',
    },
    origin: { name: 'floxgate', sw_version: expect.any(String) },
  })
  const humidity = await ha.latest(`${PREFIX}/sensor/floxgate_gw-test_loft_humidity/config`)
  expect(JSON.parse(humidity.payload)).toMatchObject({
    device_class: 'humidity',
    unit_of_measurement: '%',
  })

  // The availability topic is the gateway's retained status, and its template finds "online".
  const status = await ha.latest('floxgate/gw-test/status')
  expect(status.retained).toBe(true)
  expect(JSON.parse(status.payload).state).toBe('online')
  // The via_device exists: the gateway's own connectivity sensor.
  const gwConfig = await ha.latest(`${PREFIX}/binary_sensor/floxgate_gw-test_status/config`)
  expect(JSON.parse(gwConfig.payload)).toMatchObject({
    device_class: 'connectivity',
    device: { identifiers: ['floxgate_gw-test'] },
  })
})

it('sanitizes a device id that is not a valid object id, stably, and every config topic is valid', async () => {
  const ha = await homeAssistant()
  const topic = `${PREFIX}/sensor/floxgate_gw-test_shed_1_`
  const shed = await ha.latest(
    (await waitTopic(ha, (t) => t.startsWith(topic) && t.endsWith('_pressure/config'))) ?? '',
  )
  const doc = JSON.parse(shed.payload)
  expect(doc).toMatchObject({
    device_class: 'pressure',
    unit_of_measurement: 'hPa',
    state_topic: 'floxgate/gw-test/ha/shed.1/pressure',
  })
  expect(doc.unique_id).toMatch(/^floxgate_gw-test_shed_1_[0-9a-f]{6}_pressure$/)
  for (const m of ha.messages.filter((x) => x.topic.startsWith(`${PREFIX}/`))) {
    expect(m.topic).toMatch(/^ha-discovery\/(sensor|binary_sensor)\/[a-zA-Z0-9_-]+\/config$/)
  }
})

it('each stored value reaches the state topic; an alert rule is a problem binary sensor, ON with value and threshold', async () => {
  const ha = await homeAssistant()
  const problemTopic = `${PREFIX}/binary_sensor/floxgate_gw-test_loft_overheat_problem/config`
  const problem = JSON.parse((await ha.latest(problemTopic)).payload)
  expect(problem).toMatchObject({
    device_class: 'problem',
    state_topic: 'floxgate/gw-test/ha/loft/problem/overheat',
    payload_on: 'ON',
    payload_off: 'OFF',
    value_template: '{{ value_json.state }}',
    json_attributes_topic: 'floxgate/gw-test/ha/loft/problem/overheat',
  })
  const off = await ha.latest('floxgate/gw-test/ha/loft/problem/overheat')
  expect(JSON.parse(off.payload)).toMatchObject({ state: 'OFF', threshold: 30 })

  await publishSeries(sensor.client, 'loft', [25, 31.5], Date.now() - 2000, 1000)
  const value = await ha.latest('floxgate/gw-test/ha/loft/temperature', (m) => m.payload === '31.5')
  expect(value.retained).toBe(false) // live delivery; a later subscriber gets it retained
  const on = await ha.latest('floxgate/gw-test/ha/loft/problem/overheat', (m) =>
    m.payload.includes('"ON"'),
  )
  expect(JSON.parse(on.payload)).toMatchObject({
    state: 'ON',
    value: 31.5,
    threshold: 30,
    severity: 'critical',
    metric: 'temperature',
  })
  const late = await homeAssistant()
  expect((await late.latest('floxgate/gw-test/ha/loft/temperature')).retained).toBe(true)

  // Cleared: OFF, with the value that cleared it.
  await publishSeries(sensor.client, 'loft', [24], Date.now(), 1000)
  const cleared = await ha.latest(
    'floxgate/gw-test/ha/loft/problem/overheat',
    (m) => JSON.parse(m.payload).value === 24,
    'the OFF state after the clearing reading',
  )
  expect(JSON.parse(cleared.payload)).toMatchObject({ state: 'OFF', threshold: 30, since: null })
})

it('an unknown device appears on its first reading; a device removed by a reload gets an empty retained config', async () => {
  const ha = await homeAssistant()
  await sensor.client.publishAsync(
    'sensors/porch/telemetry',
    telemetry({ temperature: 12, radon: 40 }, Date.now()),
    { qos: 1 },
  )
  const porch = await ha.latest(`${PREFIX}/sensor/floxgate_gw-test_porch_temperature/config`)
  expect(JSON.parse(porch.payload).device).toMatchObject({ name: 'porch', model_id: 'generic' })
  const radon = JSON.parse(
    (await ha.latest(`${PREFIX}/sensor/floxgate_gw-test_porch_radon/config`)).payload,
  )
  expect(radon).toMatchObject({ name: 'Radon', unit_of_measurement: 'Bq/m³' })
  expect(radon.device_class).toBeUndefined()
  expect((await ha.latest('floxgate/gw-test/ha/porch/radon')).payload).toBe('40')

  // A preset's reading: Zigbee2MQTT sends millivolts, Home Assistant gets the stored volts.
  await sensor.client.publishAsync(
    'zigbee2mqtt/garden',
    '{"battery":97,"humidity":52.66,"linkquality":134,"temperature":21.45,"voltage":2995}',
    { qos: 1 },
  )
  const volts = JSON.parse(
    (await ha.latest(`${PREFIX}/sensor/floxgate_gw-test_garden_voltage/config`)).payload,
  )
  expect(volts).toMatchObject({ device_class: 'voltage', unit_of_measurement: 'V' })
  expect((await ha.latest('floxgate/gw-test/ha/garden/voltage')).payload).toBe('2.995')
  expect((await ha.latest('floxgate/gw-test/ha/garden/battery')).payload).toBe('97')

  cfg.rewrite({ devices: [devices[1]] })
  gw.gateway.reload(loadConfig(cfg.file))
  const gone = await ha.latest(loftTemp, (m) => m.payload === '', 'the empty config of loft')
  expect(gone.retained).toBe(false) // a live delivery of the removal
  await ha.latest(
    `${PREFIX}/binary_sensor/floxgate_gw-test_loft_overheat_problem/config`,
    (m) => m.payload === '',
    'the empty config of loft overheat',
  )
  await ha.latest(
    'floxgate/gw-test/ha/loft/temperature',
    (m) => m.payload === '',
    "loft's retained state cleared",
  )
  // A Home Assistant connecting now sees neither loft's entities nor loses porch's.
  const late = await homeAssistant()
  await late.latest(`${PREFIX}/sensor/floxgate_gw-test_porch_temperature/config`)
  await late.latest(`${PREFIX}/binary_sensor/floxgate_gw-test_status/config`)
  expect(late.messages.some((m) => m.topic.includes('_loft_'))).toBe(false)
  expect(late.messages.some((m) => m.topic.startsWith('floxgate/gw-test/ha/loft/'))).toBe(false)
})

async function waitTopic(
  ha: MosquittoSub,
  match: (t: string) => boolean,
): Promise<string | undefined> {
  return waitFor(() => ha.messages.find((m) => match(m.topic))?.topic, { what: 'a matching topic' })
}
