import { expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import { waitFor } from '../helpers/wait.js'
import { type AlertMessage, connectClient, publishSeries, telemetry, useScene } from './harness.js'

const rules = (high: number) => [{ id: 'too-hot', metric: 'temperature', high, hysteresis: 1 }]

const scene = useScene({ rules: rules(30) })

it('a reload with a new threshold and a new topic applies to the next reading, loses none and keeps alert states', async () => {
  const { cfg, gw, sensor, watcher } = scene
  const t0 = Date.now() - 600_000
  await publishSeries(sensor.client, 'hot', [31], t0, 1000)
  expect(gw.db.alerts().map((a) => [a.device, a.state])).toEqual([['hot', 'raised']])

  // A second sensor keeps publishing QoS 1 while the reload happens.
  const stream = await connectClient(gw.port)
  const total = 150
  let sent = 0
  const streaming = (async () => {
    for (; sent < total; sent++) {
      await stream.client.publishAsync(
        'sensors/steady/telemetry',
        telemetry({ temperature: 20 }, t0 + sent * 100),
        {
          qos: 1,
        },
      )
    }
  })()
  await waitFor(() => sent >= 30, { what: 'the stream to be under way' })

  cfg.rewrite({
    rules: rules(35),
    sensors: {
      topics: [
        { pattern: 'sensors/{device}/telemetry', format: 'json' },
        { pattern: 'plant/{device}/temp', format: 'number', metric: 'temperature' },
      ],
    },
  })
  const restart = gw.gateway.reload(loadConfig(cfg.file))
  expect(restart).toEqual([])
  expect(sent).toBeLessThan(total) // the reload really happened mid-stream
  await streaming
  await stream.close()
  expect(gw.db.readings('steady')).toHaveLength(total)

  // New threshold: 32 no longer raises for a fresh device.
  await publishSeries(sensor.client, 'warm', [32], t0 + 5000, 1000)
  // Carried state: `hot` is still active, so 36 does not raise it again; 33 (< 35 - 1) clears it.
  await publishSeries(sensor.client, 'hot', [36, 33], t0 + 6000, 1000)
  expect(gw.db.alerts().map((a) => [a.device, a.state])).toEqual([
    ['hot', 'raised'],
    ['hot', 'cleared'],
  ])
  await waitFor(() => watcher.json<AlertMessage>('floxgate/alerts/hot/').length === 2, {
    what: 'the clear on MQTT',
  })

  // The new pattern, from an already connected anonymous sensor.
  // A refusal would disconnect it and leave the QoS 1 publish waiting: fail fast instead.
  const refused = new Promise<never>((_, reject) =>
    sensor.client.once('close', () => reject(new Error('disconnected: plant/p1/temp was refused'))),
  )
  await Promise.race([sensor.client.publishAsync('plant/p1/temp', '22.5', { qos: 1 }), refused])
  expect(gw.db.readings('p1').map((r) => [r.metric, r.value])).toEqual([['temperature', 22.5]])
})
