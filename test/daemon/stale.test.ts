import { expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { type AlertMessage, connectClient, telemetry, useScene } from './harness.js'

const scene = useScene({
  devices: [{ id: 'quiet', profile: 'dht22' }],
  // The housekeeping clock ticks every second and checks stale rules every
  // staleCheckSeconds: a 1 s stale rule fires within ~2 s.
  rules: [{ id: 'silent', staleSeconds: 1, severity: 'warning' }],
  alerts: { staleCheckSeconds: 1 },
})

it('a configured device that says nothing is raised stale by the clock, and its next reading clears it', async () => {
  const topic = 'floxgate/alerts/quiet/any/silent'
  const raised = await waitFor(() => scene.watcher.json<AlertMessage>(topic)[0], {
    timeoutMs: 5000,
    what: 'the stale raise from the housekeeping tick',
  })
  expect(raised).toMatchObject({
    device: 'quiet',
    metric: null,
    rule: 'silent',
    state: 'raised',
    value: null,
  })
  await waitFor(() => scene.gw.db.alerts().length === 1, { what: 'the raise in the alert history' })

  const sensor = await connectClient(scene.gw.port)
  await sensor.client.publishAsync(
    'sensors/quiet/telemetry',
    telemetry({ temperature: 20, humidity: 50 }, Date.now()),
    {
      qos: 1,
    },
  )
  await sensor.close()
  // Committed with the reading, before its PUBACK.
  expect(scene.gw.db.alerts().map((a) => a.state)).toEqual(['raised', 'cleared'])
  await waitFor(() => scene.watcher.json<AlertMessage>(topic).length >= 2, {
    what: 'the clear on MQTT',
  })
  expect(scene.watcher.json<AlertMessage>(topic).map((a) => a.state)).toEqual(['raised', 'cleared'])
})
