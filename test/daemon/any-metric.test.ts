/**
 * Rules, aggregates and the store work for every metric, measured or derived: a co2 rule
 * on a Tasmota SCD40, and the condensation rule of docs/sensors.md (temperature within
 * 2 °C of the dew point) on a Zigbee2MQTT sensor that opted in to derived metrics.
 */
import { expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { type AlertMessage, useScene } from './harness.js'

const scene = useScene(
  {
    sensors: { topics: [{ preset: 'tasmota' }, { preset: 'zigbee2mqtt' }] },
    devices: [
      { id: 'office', profile: 'scd40' },
      {
        id: 'cellar/aqara',
        profile: 'aqara-wsdcgq11lm',
        derive: ['dew_point', 'dew_point_spread'],
      },
    ],
    rules: [
      { id: 'stuffy', metric: 'co2', high: 1400, severity: 'warning' },
      { id: 'condensation', metric: 'dew_point_spread', low: 2, severity: 'critical' },
    ],
    aggregates: { windowSeconds: 1, graceSeconds: 0 },
  },
  'floxgate/#',
)

it('a co2 rule raises on a Tasmota SCD40 reading above 1400 ppm', async () => {
  await scene.sensor.client.publishAsync(
    'tele/office/SENSOR',
    '{"Time":"2026-12-01T10:00:00","SCD40":{"CarbonDioxide":1650,"eCO2":1650,"Temperature":23.1,"Humidity":41.0,"DewPoint":9.2},"TempUnit":"C"}',
    { qos: 1 },
  )
  const topic = 'floxgate/alerts/office/co2/stuffy'
  const [raised] = await waitFor(() => {
    const a = scene.watcher.json<AlertMessage>(topic)
    return a.length > 0 ? a : undefined
  })
  expect(raised).toMatchObject({ state: 'raised', metric: 'co2', value: 1650, threshold: 1400 })
  expect(scene.gw.db.readings('office').map((r) => [r.metric, r.value])).toEqual(
    expect.arrayContaining([
      ['co2', 1650],
      ['temperature', 23.1],
      ['humidity', 41],
    ]),
  )
  // The window closes on the timer: a co2 aggregate like any other.
  const agg = await waitFor(() => scene.watcher.json('floxgate/aggregates/office/co2')[0], {
    what: 'the co2 aggregate',
  })
  expect(agg).toMatchObject({ device: 'office', metric: 'co2', count: 1, min: 1650, max: 1650 })
})

it('a damp cellar raises the condensation alert on the derived dew point spread', async () => {
  // 12 °C at 90 % RH: dew point 10.41 °C, spread 1.59 °C (< 2).
  await scene.sensor.client.publishAsync(
    'zigbee2mqtt/cellar/aqara',
    '{"battery":91,"humidity":90,"linkquality":80,"pressure":1001.3,"temperature":12,"voltage":2985}',
    { qos: 1 },
  )
  const topic = 'floxgate/alerts/cellar/aqara/dew_point_spread/condensation'
  const [raised] = await waitFor(() => {
    const a = scene.watcher.json<AlertMessage>(topic)
    return a.length > 0 ? a : undefined
  })
  expect(raised).toMatchObject({ state: 'raised', severity: 'critical', value: 1.59 })
  const stored = new Map(scene.gw.db.readings('cellar/aqara').map((r) => [r.metric, r.value]))
  expect(Object.fromEntries(stored)).toEqual({
    battery: 91,
    humidity: 90,
    pressure: 1001.3,
    temperature: 12,
    voltage: 2.985,
    dew_point: 10.41,
    dew_point_spread: 1.59,
  })
})
