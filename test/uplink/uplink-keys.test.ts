/**
 * Uplink keys through the daemon that the other uplink tests leave at their defaults:
 * `enabled`, `ttlHours`, and the MQTT session's `username`, `password` and `clientId`.
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { connectAsync } from 'mqtt'
import { afterEach, expect, it } from 'vitest'
import { connectClient, startGateway, writeTestConfig } from '../daemon/harness.js'
import { startMosquitto } from '../helpers/mosquitto.js'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function gateway(uplinks: Record<string, unknown>[]) {
  const cfg = await writeTestConfig({ uplinks })
  cleanups.push(() => cfg.cleanup())
  const gw = await startGateway(cfg.file)
  cleanups.push(() => gw.stop())
  const sensor = await connectClient(gw.port)
  cleanups.push(() => sensor.close())
  const publish = async (n: number) => {
    const t0 = Date.now() - 10_000
    for (let i = 0; i < n; i++) {
      await sensor.client.publishAsync(
        'sensors/t1/telemetry',
        JSON.stringify({ temperature: 20 + i / 10, ts: t0 + i }),
        { qos: 1 },
      )
    }
  }
  return { cfg, gw, publish }
}

it('enabled: false keeps the uplink in the config but runs and queues nothing for it', async () => {
  const dead = await freePort()
  const { gw, publish } = await gateway([
    { id: 'on', url: `mqtt://127.0.0.1:${dead}`, streams: ['readings'] },
    { id: 'off', url: `mqtt://127.0.0.1:${dead}`, streams: ['readings'], enabled: false },
  ])
  await publish(5)
  expect(gw.gateway.forwarders.map((f) => f.id)).toEqual(['on'])
  expect(gw.gateway.forwarders[0]!.stats().backlogRows).toBe(5)
  // Every queue together holds the enabled uplink's five rows: none was made for `off`.
  expect(gw.gateway.store.outboxStats().rows).toBe(5)
})

it('ttlHours: rows older than it are deleted unsent while the upstream is unreachable', async () => {
  const dead = await freePort()
  // 0.0003 h: about a second.
  const { gw, publish } = await gateway([
    { id: 'cloud', url: `mqtt://127.0.0.1:${dead}`, streams: ['readings'], ttlHours: 0.0003 },
  ])
  await publish(5)
  const f = gw.gateway.forwarders[0]!
  expect(f.stats().backlogRows).toBe(5)
  await waitFor(() => f.stats().backlogRows === 0, { what: 'the rows expired' })
  expect(f.stats()).toMatchObject({ connected: false, sent: 0, expired: 5 })
})

it('username, password and clientId open the upstream session (a broker that refuses anonymous)', async () => {
  const { dir, cleanup } = tempDir('floxgate-uplink-auth-')
  cleanups.push(cleanup)
  const passwords = join(dir, 'passwords')
  execFileSync('mosquitto_passwd', ['-b', '-c', passwords, 'gw-user', 'gw-pass'])
  const upstream = await startMosquitto({
    extraConfig: ['allow_anonymous false', `password_file ${passwords}`, 'log_type notice'],
  })
  cleanups.push(() => upstream.close())
  const consumer = await connectAsync(upstream.url, { username: 'gw-user', password: 'gw-pass' })
  cleanups.push(() => consumer.endAsync(true))
  const got: string[] = []
  consumer.on('message', (topic) => got.push(topic))
  await consumer.subscribeAsync('site/readings/#', { qos: 1 })
  const { gw, publish } = await gateway([
    {
      id: 'cloud',
      url: upstream.url,
      topicPrefix: 'site',
      streams: ['readings'],
      username: 'gw-user',
      password: 'gw-pass',
      clientId: 'greenhouse-gateway-7',
    },
  ])
  await publish(3)
  await waitFor(() => got.length === 3, { what: 'the rows upstream' })
  expect(gw.gateway.forwarders[0]!.stats().connected).toBe(true)
  expect(upstream.log()).toMatch(
    /New client connected from .* as greenhouse-gateway-7 .*u'gw-user'/,
  )
})

it('a wrong password is refused by the upstream: nothing sent, every row kept, the reason shown', async () => {
  const { dir, cleanup } = tempDir('floxgate-uplink-auth-')
  cleanups.push(cleanup)
  const passwords = join(dir, 'passwords')
  execFileSync('mosquitto_passwd', ['-b', '-c', passwords, 'gw-user', 'gw-pass'])
  const upstream = await startMosquitto({
    extraConfig: ['allow_anonymous false', `password_file ${passwords}`],
  })
  cleanups.push(() => upstream.close())
  const { gw, publish } = await gateway([
    {
      id: 'cloud',
      url: upstream.url,
      streams: ['readings'],
      username: 'gw-user',
      password: 'not-the-password',
    },
  ])
  await publish(3)
  const f = gw.gateway.forwarders[0]!
  await waitFor(() => f.stats().connectAttempts >= 2, { what: 'refused connection attempts' })
  expect(f.stats()).toMatchObject({ connected: false, sent: 0, backlogRows: 3 })
  expect(f.stats().lastError ?? '').toMatch(/not authorized|bad user name or password/i)
})
