import { expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { type AlertMessage, publishSeries, subscribed, useScene } from './harness.js'

const scene = useScene({
  rules: [
    { id: 'too-hot', metric: 'temperature', high: 30, hysteresis: 1 },
    { id: 'frost', metric: 'temperature', low: 2 },
  ],
})

it('a subscriber that connects after the raise sees the active alert, retained; after the clear, the cleared state', async () => {
  const t0 = Date.now() - 600_000
  await publishSeries(scene.sensor.client, 'loft', [25, 31, 32], t0, 1000)
  expect(scene.gw.db.alerts().map((a) => a.state)).toEqual(['raised'])

  const late = await subscribed(scene.gw.port, 'floxgate/alerts/#')
  const seen = await waitFor(
    () => late.received.find((m) => m.topic === 'floxgate/alerts/loft/temperature/too-hot'),
    {
      what: 'the retained alert',
    },
  )
  expect(seen.retain).toBe(true)
  expect(JSON.parse(seen.payload)).toMatchObject({
    state: 'raised',
    rule: 'too-hot',
    device: 'loft',
  })
  // Only the rule that is active has a state: frost never raised, so nothing for it.
  expect(late.received.filter((m) => m.topic.endsWith('/frost'))).toEqual([])
  await late.close()

  await publishSeries(scene.sensor.client, 'loft', [20], t0 + 3000, 1000)
  // The pipeline does not await alert publishes: poll with fresh subscribers until the
  // retained state they are given is the clear.
  await waitFor(
    async () => {
      const next = await subscribed(scene.gw.port, 'floxgate/alerts/loft/#')
      try {
        const m = await waitFor(
          () => next.json<AlertMessage>('floxgate/alerts/loft/temperature/too-hot')[0],
          {
            timeoutMs: 2000,
            what: 'a retained state',
          },
        )
        return m.state === 'cleared'
      } finally {
        await next.close()
      }
    },
    { timeoutMs: 8000, what: 'the retained state to become cleared' },
  )
})
