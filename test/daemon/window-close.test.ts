import { expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { connectClient, telemetry, useScene } from './harness.js'

const scene = useScene(
  { aggregates: { windowSeconds: 1, graceSeconds: 0 } },
  'floxgate/aggregates/#',
)

it('a window closes on the clock with no further reading: published and stored', async () => {
  // Three readings inside one aligned 1 s window (sensor time), then silence. The window
  // lies a second or two ahead of the gateway clock, so the clock cannot close it between
  // two of the readings (a little in the future is allowed: timestamps.maxFutureSeconds).
  const start = Math.ceil(Date.now() / 1000) * 1000 + 1000
  const sensor = await connectClient(scene.gw.port)
  for (const [i, v] of [21, 23, 22].entries()) {
    await sensor.client.publishAsync(
      'sensors/attic/telemetry',
      telemetry({ temperature: v }, start + i + 1),
      {
        qos: 1,
      },
    )
  }
  await sensor.close()
  expect(scene.gw.db.aggregates('attic')).toEqual([]) // nothing closed it yet

  const published = await waitFor(
    () => scene.watcher.json('floxgate/aggregates/attic/temperature')[0],
    {
      timeoutMs: 5000,
      what: 'the aggregate published by the timer',
    },
  )
  expect(published).toMatchObject({
    gateway: 'gw-test',
    device: 'attic',
    metric: 'temperature',
    count: 3,
    min: 21,
    max: 23,
    mean: 22,
    last: 22,
  })
  const stored = await waitFor(() => scene.gw.db.aggregates('attic')[0], {
    what: 'the aggregate row',
  })
  expect(stored).toMatchObject({ count: 3, min: 21, max: 23, mean: 22, last: 22 })
  expect(scene.gw.db.readings('attic')).toHaveLength(3)
})
