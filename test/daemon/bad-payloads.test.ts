import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import {
  connectClient,
  type RecordingClient,
  telemetry,
  useScene,
  waitForReadings,
} from './harness.js'

/**
 * Issue 3's table of bad payloads, through the real broker into the real database: each
 * one gives its dead letter (or a refusal), and a good reading right after is stored.
 */
describe('bad payloads', () => {
  const scene = useScene({})
  const t0 = Date.now() - 3_600_000
  let n = 0

  /** A good reading after each bad one: the pipeline still works. */
  async function goodReadingIsStored(client: RecordingClient): Promise<void> {
    const ts = t0 + ++n * 1000
    await client.client.publishAsync('sensors/good/telemetry', telemetry({ temperature: 21 }, ts), {
      qos: 1,
    })
    expect(scene.gw.db.readings('good').some((r) => r.ts === ts && r.value === 21)).toBe(true)
  }

  const table: Array<{ name: string; topic: string; payload: string; reason: string }> = [
    { name: 'empty', topic: 'sensors/b1/telemetry', payload: '', reason: 'empty-payload' },
    { name: 'not JSON', topic: 'sensors/b2/telemetry', payload: '{temp: 2', reason: 'not-json' },
    {
      name: 'a JSON array',
      topic: 'sensors/b3/telemetry',
      payload: '[21.5]',
      reason: 'not-an-object',
    },
    {
      name: 'a number as a string',
      topic: 'sensors/b4/telemetry',
      payload: '{"temperature":"21.5"}',
      reason: 'not-a-number',
    },
    // JSON has no NaN: the text is not JSON at all.
    {
      name: 'NaN in JSON',
      topic: 'sensors/b5/telemetry',
      payload: '{"temperature":NaN}',
      reason: 'not-json',
    },
    {
      name: 'NaN on a number topic',
      topic: 'sensors/b6/temperature',
      payload: 'NaN',
      reason: 'non-finite',
    },
    // Finite, but outside every physical range of the generic profile.
    {
      name: '1e308',
      topic: 'sensors/b7/telemetry',
      payload: '{"temperature":1e308}',
      reason: 'out-of-range',
    },
    {
      name: '1e309 (overflows)',
      topic: 'sensors/b8/telemetry',
      payload: '{"temperature":1e309}',
      reason: 'non-finite',
    },
    {
      name: 'missing fields',
      topic: 'sensors/b9/telemetry',
      payload: '{"temp":21}',
      reason: 'missing-field',
    },
    {
      name: 'a word on a number topic',
      topic: 'sensors/b10/humidity',
      payload: 'warm',
      reason: 'not-a-number',
    },
    // Ids are bounded (docs/security.md): a long one would be kept in every device map.
    {
      name: 'a device id over 64 characters',
      topic: `sensors/${'d'.repeat(65)}/telemetry`,
      payload: '{"temperature":21}',
      reason: 'bad-device-id',
    },
  ]

  it.each(table)('$name -> dead letter $reason, then a good reading is stored', async (c) => {
    // PUBACK comes after the commit, so the row is there once the publish resolves.
    await scene.sensor.client.publishAsync(c.topic, c.payload, { qos: 1 })
    const rows = scene.gw.db.deadLetters().filter((d) => d.topic === c.topic)
    expect(rows.map((r) => r.reason)).toEqual([c.reason])
    expect(rows[0]?.payload.toString()).toBe(c.payload)
    expect(rows[0]?.detail.length).toBeGreaterThan(0)
    expect(scene.gw.db.readings(c.topic.split('/')[1])).toEqual([])
    await goodReadingIsStored(scene.sensor)
  })

  it('a QoS 1 payload over the broker maximum (1 MB) is acknowledged once, dead-lettered with its size and first bytes; the connection stays', async () => {
    // Refusing by disconnecting made MQTT.js resend it on every reconnect, forever.
    const big = await connectClient(scene.gw.port)
    let closes = 0
    big.client.on('close', () => closes++)
    await big.client.publishAsync(
      'sensors/big/telemetry',
      `{"temperature":21,"pad":"${'x'.repeat(1 << 20)}"}`,
      { qos: 1 },
    )
    const rows = scene.gw.db.deadLetters().filter((d) => d.topic === 'sensors/big/telemetry')
    expect(rows.map((r) => r.reason)).toEqual(['payload-too-large'])
    expect(rows[0]?.detail).toMatch(/exceeds the limit of 65536/)
    expect(rows[0]?.payload.toString()).toMatch(/^\{"temperature":21,"pad":"x+$/)
    expect(rows[0]?.payload.length).toBe(256)
    expect(scene.gw.db.readings('big')).toEqual([])
    await waitFor(
      async () =>
        (await scene.gw.metrics.registry.metrics()).includes('reason="payload-too-large"} 1'),
      { what: 'the refusal counted in /metrics' },
    )
    expect(scene.gw.logs.find((l) => l.reason === 'payload-too-large')?.msg).toMatch(
      /exceeds the limit/,
    )
    expect(big.client.connected).toBe(true)
    expect(closes).toBe(0)
    await goodReadingIsStored(big)
    await big.close()
  })

  it('a topic outside the sensor patterns is refused for anonymous clients (publish ACL): acknowledged, dead-lettered, the gateway keeps serving', async () => {
    // Anonymous clients may publish only on the sensor patterns (see broker-setup). (A user
    // whose ACL allows a wider topic gets it published as a plain MQTT message: auth-acl.)
    const stray = await connectClient(scene.gw.port)
    await stray.client.publishAsync('weather/station-1/temperature', '21.5', { qos: 1 })
    await waitFor(
      async () => (await scene.gw.metrics.registry.metrics()).includes('reason="acl-publish"} 1'),
      { what: 'the ACL refusal counted' },
    )
    const rows = scene.gw.db.deadLetters().filter((d) => d.topic.startsWith('weather/'))
    expect(rows.map((r) => [r.reason, r.payload.toString()])).toEqual([['not-authorized', '21.5']])
    expect(stray.client.connected).toBe(true)
    await stray.close()
    await goodReadingIsStored(scene.sensor)
    // A new client is served as usual.
    const fresh = await connectClient(scene.gw.port)
    await goodReadingIsStored(fresh)
    await fresh.close()
    await waitForReadings(scene.gw.db, 'good', n)
  })
})
