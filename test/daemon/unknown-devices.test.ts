import { describe, expect, it } from 'vitest'
import { type Scene, telemetry, useScene } from './harness.js'

/** A gateway with `policy` for devices not in its list. */
function sceneWith(policy: 'accept' | 'dead-letter'): Scene {
  return useScene({
    devices: [{ id: 'known', profile: 'dht22' }],
    unknownDevices: { policy, profile: 'generic' },
  })
}

/** One reading of the listed device and one of a stranger, each committed (QoS 1). */
async function publishKnownAndStranger(scene: Scene): Promise<void> {
  const c = scene.sensor.client
  const ts = Date.now() - 60_000
  await c.publishAsync('sensors/known/telemetry', telemetry({ temperature: 20 }, ts), { qos: 1 })
  // 150 °C: outside a DHT22's range, inside the generic profile's (-100..200).
  await c.publishAsync('sensors/stranger/telemetry', telemetry({ temperature: 150 }, ts), {
    qos: 1,
  })
}

describe('policy accept', () => {
  const scene = sceneWith('accept')

  it('an unknown device is stored with the generic profile', async () => {
    await publishKnownAndStranger(scene)
    const { db } = scene.gw
    expect(db.readings('known').map((r) => r.value)).toEqual([20])
    expect(db.readings('stranger').map((r) => r.value)).toEqual([150])
    expect(db.deadLetters()).toEqual([])
  })
})

describe('policy dead-letter', () => {
  const scene = sceneWith('dead-letter')

  it('an unknown device is kept as a dead letter, the known one stored', async () => {
    await publishKnownAndStranger(scene)
    const { db } = scene.gw
    expect(db.readings('known').map((r) => r.value)).toEqual([20])
    expect(db.readings('stranger')).toEqual([])
    const dl = db.deadLetters()
    expect(dl.map((d) => [d.topic, d.reason, d.device])).toEqual([
      ['sensors/stranger/telemetry', 'unknown-device', 'stranger'],
    ])
  })
})
