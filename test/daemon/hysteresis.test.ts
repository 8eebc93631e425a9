import { expect, it } from 'vitest'
import { seeded } from '../gateway/fixtures.js'
import { waitFor } from '../helpers/wait.js'
import { type AlertMessage, publishSeries, useScene } from './harness.js'

const scene = useScene({
  rules: [{ id: 'too-hot', metric: 'temperature', high: 30, hysteresis: 1, severity: 'critical' }],
})

it('a noisy signal hovering at the threshold raises once and clears once, through MQTT', async () => {
  const noise = seeded(7)
  const values = [
    ...Array.from({ length: 10 }, (_, i) => 25 + i * 0.4),
    // 29.2..30.8: crosses 30 many times but never falls below 29 (30 - hysteresis).
    ...Array.from({ length: 60 }, () => 30 + (noise() - 0.5) * 1.6),
    ...Array.from({ length: 10 }, (_, i) => 28.5 - i * 0.3),
  ]
  const crossings = values.slice(10, 70).filter((v, i, a) => i > 0 && v > 30 !== a[i - 1]! > 30)
  expect(crossings.length).toBeGreaterThan(10) // the signal really flaps around 30
  await publishSeries(scene.sensor.client, 'hall', values, Date.now() - 3_600_000, 1000)

  const topic = 'floxgate/alerts/hall/temperature/too-hot'
  await waitFor(() => scene.watcher.json<AlertMessage>(topic).some((a) => a.state === 'cleared'), {
    what: 'the clear on MQTT',
  })
  const alerts = scene.watcher.json<AlertMessage>(topic)
  expect(alerts.map((a) => a.state)).toEqual(['raised', 'cleared'])
  expect(alerts[0]).toMatchObject({
    gateway: 'gw-test',
    device: 'hall',
    metric: 'temperature',
    rule: 'too-hot',
    severity: 'critical',
    threshold: 30,
  })
  expect(alerts[0]!.value).toBeGreaterThan(30)
  expect(alerts[1]!.value).toBeLessThan(29)
  // The history in SQLite says the same.
  expect(scene.gw.db.alerts().map((a) => [a.rule, a.state])).toEqual([
    ['too-hot', 'raised'],
    ['too-hot', 'cleared'],
  ])
  expect(scene.gw.db.readings('hall')).toHaveLength(values.length)
})
