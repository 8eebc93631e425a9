import { describe, expect, it } from 'vitest'
import { hashPassword } from '../../src/broker/password.js'
import { waitFor } from '../helpers/wait.js'
import { connectClient, telemetry, useScene } from './harness.js'

/** Users with password hashes and ACLs, configured through the daemon's YAML. */
describe('auth and ACL refusals', () => {
  const t0 = Date.now() - 600_000
  const scene = useScene(
    async () => ({
      broker: {
        embedded: {
          allowAnonymous: false,
          users: [
            { username: 'dev-a', passwordHash: await hashPassword('secret-a') },
            {
              username: 'dashboard',
              passwordHash: await hashPassword('secret-d'),
              publish: [],
              subscribe: ['floxgate/alerts/#'],
            },
          ],
        },
      },
    }),
    {
      sensor: { username: 'dev-a', password: 'secret-a' },
      watcher: { username: 'dashboard', password: 'secret-d' },
    },
  )

  const refusals = async (reason: string) => {
    const text = await scene.gw.metrics.registry.metrics()
    const m = new RegExp(`floxgate_refusals_total\\{reason="${reason}"\\} (\\d+)`).exec(text)
    return Number(m?.[1] ?? 0)
  }

  it('a wrong password and an anonymous client are refused at CONNECT', async () => {
    await expect(
      connectClient(scene.gw.port, { username: 'dev-a', password: 'wrong' }),
    ).rejects.toThrow(/Bad username or password|Not authorized/)
    await expect(connectClient(scene.gw.port)).rejects.toThrow(
      /Bad username or password|Not authorized/,
    )
    await waitFor(async () => (await refusals('bad-credentials')) === 1, {
      what: 'bad-credentials counted',
    })
    await waitFor(async () => (await refusals('anonymous-refused')) === 1, {
      what: 'anonymous-refused counted',
    })
  })

  it('a device publishes under its own topics; its readings are stored', async () => {
    await scene.sensor.client.publishAsync(
      'sensors/dev-a/telemetry',
      telemetry({ temperature: 19 }, t0),
      { qos: 1 },
    )
    expect(scene.gw.db.readings('dev-a').map((r) => r.value)).toEqual([19])
  })

  it('a device publishing as another device is acknowledged, dead-lettered, not stored, and stays connected', async () => {
    // A refused QoS 1 message is acknowledged (MQTT 3.1.1 has no negative PUBACK): a
    // disconnect would make the sensor resend it on every reconnect, forever.
    const a = await connectClient(scene.gw.port, { username: 'dev-a', password: 'secret-a' })
    await a.client.publishAsync('sensors/dev-b/telemetry', telemetry({ temperature: 50 }, t0), {
      qos: 1,
    })
    expect(await refusals('acl-publish')).toBe(1)
    expect(scene.gw.db.readings('dev-b')).toEqual([])
    const dl = scene.gw.db.deadLetters().filter((d) => d.topic === 'sensors/dev-b/telemetry')
    expect(dl.map((d) => d.reason)).toEqual(['not-authorized'])
    expect(a.client.connected).toBe(true)
    await a.close()
  })

  it('a device may not publish as the gateway (alerts)', async () => {
    const a = await connectClient(scene.gw.port, { username: 'dev-a', password: 'secret-a' })
    await a.client.publishAsync('floxgate/alerts/dev-a/temperature/fake', '{"state":"raised"}', {
      qos: 1,
    })
    expect(await refusals('acl-publish')).toBe(2)
    expect(a.client.connected).toBe(true)
    await a.close()
  })

  it('only allowed clients subscribe to alerts', async () => {
    // SUBACK 0x80: mqtt.js turns the refused grant into an error.
    await expect(
      scene.sensor.client.subscribeAsync('floxgate/alerts/#', { qos: 1 }),
    ).rejects.toThrow(/Subscribe error/)
    await waitFor(async () => (await refusals('acl-subscribe')) === 1, {
      what: 'acl-subscribe counted',
    })

    const dash = await connectClient(scene.gw.port, { username: 'dashboard', password: 'secret-d' })
    const ok = await dash.client.subscribeAsync('floxgate/alerts/#', { qos: 1 })
    expect(ok[0]?.qos).toBe(1)
    await dash.close()
  })

  it('a topic the ACL allows but no sensor pattern matches is an ordinary MQTT message: not stored, not dead-lettered', async () => {
    // `sensors/{username}/#` admits `sensors/dev-a/x/y`, but neither sensor pattern
    // (`sensors/{device}/telemetry`, `sensors/{device}/{metric}`) matches it: the broker
    // routes it like any message and the gateway does not look at it.
    await scene.sensor.client.publishAsync('sensors/dev-a/x/y', '21.5', { qos: 1 })
    await scene.sensor.client.publishAsync(
      'sensors/dev-a/telemetry',
      telemetry({ temperature: 20 }, t0 + 1000),
      {
        qos: 1,
      },
    )
    expect(scene.gw.db.readings('dev-a').map((r) => r.value)).toEqual([19, 20])
    expect(scene.gw.db.deadLetters().filter((d) => d.topic.startsWith('sensors/dev-a'))).toEqual([])
    expect(scene.sensor.client.connected).toBe(true)
  })
})
