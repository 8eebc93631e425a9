import { expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { type AlertMessage, publishSeries, useScene } from './harness.js'

const scene = useScene({
  rules: [{ id: 'fast-change', metric: 'temperature', ratePerMinute: 5, windowSeconds: 60 }],
})

it('a fast rise raises one rate alert and a steady signal clears it', async () => {
  const steady = (v: number, n: number) => Array.from({ length: n }, () => v)
  // One reading per 10 s: two steady minutes, a rise of 2 °C per reading (12 °C/min)
  // for a minute, then steady again for three minutes.
  const rise = Array.from({ length: 6 }, (_, i) => 20 + (i + 1) * 2)
  const values = [...steady(20, 12), ...rise, ...steady(32, 18)]
  await publishSeries(scene.sensor.client, 'kiln', values, Date.now() - 3_600_000, 10_000)

  const topic = 'floxgate/alerts/kiln/temperature/fast-change'
  await waitFor(() => scene.watcher.json<AlertMessage>(topic).length >= 2, {
    what: 'raise and clear on MQTT',
  })
  const alerts = scene.watcher.json<AlertMessage>(topic)
  expect(alerts.map((a) => a.state)).toEqual(['raised', 'cleared'])
  // The value of a rate alert is the rate, °C per minute.
  expect(alerts[0]!.value).toBeGreaterThan(5)
  expect(alerts[0]!.threshold).toBe(5)
  expect(scene.gw.db.alerts().map((a) => a.state)).toEqual(['raised', 'cleared'])
})

it('a slow drift of the same size raises nothing', async () => {
  // 12 °C over 12 minutes: 1 °C/min.
  const values = Array.from({ length: 73 }, (_, i) => 20 + i / 6)
  await publishSeries(scene.sensor.client, 'cellar', values, Date.now() - 3_000_000, 10_000)
  expect(scene.gw.db.readings('cellar')).toHaveLength(values.length)
  expect(scene.gw.db.alerts().filter((a) => a.device === 'cellar')).toEqual([])
})
