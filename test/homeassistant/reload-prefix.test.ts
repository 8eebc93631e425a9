/**
 * `homeassistant.discoveryPrefix` changed by a reload (SIGHUP): the configs move to the
 * new prefix and the old ones are emptied, so Home Assistant keeps no stale entities.
 */
import { afterAll, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import {
  connectClient,
  type RunningGateway,
  startGateway,
  type TestConfig,
  telemetry,
  writeTestConfig,
} from '../daemon/harness.js'
import { type MosquittoSub, mosquittoSub } from './mosquitto-sub.js'

let cfg: TestConfig | undefined
let gw: RunningGateway | undefined
let ha: MosquittoSub | undefined
afterAll(async () => {
  ha?.close()
  await gw?.stop()
  cfg?.cleanup()
})

it('a reload that changes the discovery prefix republishes under the new one and empties the old', async () => {
  cfg = await writeTestConfig({
    homeassistant: { enabled: true },
    devices: [{ id: 'loft', profile: 'dht22' }],
  })
  gw = await startGateway(cfg.file)
  ha = await mosquittoSub(gw.port, ['homeassistant/#', 'ha2/#', 'floxgate/gw-test/ha/#'])
  const old = 'homeassistant/sensor/floxgate_gw-test_loft_temperature/config'
  await ha.latest(old, (m) => m.payload !== '')
  const sensor = await connectClient(gw.port)
  await sensor.client.publishAsync(
    'sensors/loft/telemetry',
    telemetry({ temperature: 21.5 }, Date.now()),
    {
      qos: 1,
    },
  )
  await sensor.close()
  await ha.latest('floxgate/gw-test/ha/loft/temperature', (m) => m.payload === '21.5')

  cfg.rewrite({ homeassistant: { enabled: true, discoveryPrefix: 'ha2' } })
  expect(gw.gateway.reload(loadConfig(cfg.file))).toEqual([])
  const moved = await ha.latest('ha2/sensor/floxgate_gw-test_loft_temperature/config')
  expect(JSON.parse(moved.payload)).toMatchObject({
    unique_id: 'floxgate_gw-test_loft_temperature',
  })
  await ha.latest(old, (m) => m.payload === '', 'the old config emptied')
  await ha.latest(
    'homeassistant/binary_sensor/floxgate_gw-test_status/config',
    (m) => m.payload === '',
    "the old gateway's config emptied",
  )
  // The state topics do not depend on the prefix: the value stays for the new configs.
  const late = await mosquittoSub(gw.port, ['floxgate/gw-test/ha/loft/#'])
  try {
    expect((await late.latest('floxgate/gw-test/ha/loft/temperature')).payload).toBe('21.5')
  } finally {
    late.close()
  }
  expect(
    ha.messages
      .filter((m) => m.topic === 'floxgate/gw-test/ha/loft/temperature')
      .map((m) => m.payload),
  ).toEqual(['21.5'])
})
