import { expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { type AlertMessage, publishSeries, useScene } from './harness.js'

const scene = useScene({
  rules: [{ id: 'too-hot', metric: 'temperature', high: 30, forSeconds: 10 }],
})

it('raises only once the condition held for forSeconds (sensor time); a dip restarts the wait', async () => {
  const t0 = Date.now() - 3_600_000
  // 6 s above, one reading back inside: no alert, the wait starts over.
  await publishSeries(scene.sensor.client, 'oven', [31, 31, 31, 31, 31, 31, 31, 29], t0, 1000)
  expect(scene.gw.db.alerts()).toEqual([])
  // Above again from t0+8 s: 9 s later still nothing (PUBACK means processed and committed)...
  const t1 = t0 + 8000
  await publishSeries(
    scene.sensor.client,
    'oven',
    [32, 32, 32, 32, 32, 32, 32, 32, 32, 32],
    t1,
    1000,
  )
  expect(scene.gw.db.alerts()).toEqual([])
  // ...the reading 10 s after the start of the run raises it, with `since` at that start.
  await publishSeries(scene.sensor.client, 'oven', [32.5], t1 + 10_000, 1000)
  expect(scene.gw.db.alerts().map((a) => [a.rule, a.state, a.value])).toEqual([
    ['too-hot', 'raised', 32.5],
  ])
  const raised = await waitFor(
    () => scene.watcher.json<AlertMessage & { since: number }>('floxgate/alerts/oven/')[0],
    {
      what: 'the raise on MQTT',
    },
  )
  expect(raised).toMatchObject({ state: 'raised', rule: 'too-hot', since: t1 })
  // Staying above does not send it again.
  await publishSeries(scene.sensor.client, 'oven', [33, 33, 33], t1 + 11_000, 1000)
  expect(scene.gw.db.alerts()).toHaveLength(1)
})
