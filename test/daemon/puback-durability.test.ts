import { expect, it } from 'vitest'
import { telemetry, useScene } from './harness.js'

// A long group-commit delay: a PUBACK sent at receipt would come back well before.
const scene = useScene({ store: { batch: { maxRows: 1000, maxDelayMs: 300 } } })

it('QoS 1: the PUBACK comes only once the reading is committed to SQLite', async () => {
  const t0 = Date.now() - 60_000
  for (let i = 0; i < 5; i++) {
    const ts = t0 + i * 1000
    await scene.sensor.client.publishAsync(
      'sensors/vault/telemetry',
      telemetry({ temperature: 10 + i }, ts),
      {
        qos: 1,
      },
    )
    // Read through a second connection at the moment the publish resolved.
    expect(scene.gw.db.readings('vault').find((r) => r.ts === ts)?.value).toBe(10 + i)
  }
})

it('QoS 1 publishes in flight together are each committed before their own PUBACK', async () => {
  const t0 = Date.now() - 30_000
  const seen: boolean[] = []
  await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const ts = t0 + i
      await scene.sensor.client.publishAsync(
        'sensors/bulk/telemetry',
        telemetry({ temperature: i }, ts),
        { qos: 1 },
      )
      seen.push(scene.gw.db.readings('bulk').some((r) => r.ts === ts))
    }),
  )
  expect(seen).toHaveLength(50)
  expect(seen.every(Boolean)).toBe(true)
})
