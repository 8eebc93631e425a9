import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedBroker } from '../../src/broker/embedded.js'
import type { SensorMessage } from '../../src/broker/intake.js'
import { hashPassword } from '../../src/broker/password.js'
import type { Refusal } from '../../src/broker/refusal.js'
import { VERSION } from '../../src/version.js'
import { waitFor } from '../helpers/wait.js'

const DEVICE_ACL = { publish: ['sensors/{username}/#'], subscribe: ['config/{username}/#'] }

describe('embedded broker security', () => {
  let broker: EmbeddedBroker
  const refusals: Refusal[] = []
  const got: SensorMessage[] = []
  const clients: MqttClient[] = []

  beforeAll(async () => {
    const [d1, ops] = await Promise.all([hashPassword('pw-d1'), hashPassword('pw-ops')])
    broker = await EmbeddedBroker.start({
      tcp: { host: '127.0.0.1', port: 0 },
      sensorTopics: ['sensors/+/telemetry'],
      users: [
        { username: 'd1', passwordHash: d1, acl: DEVICE_ACL },
        {
          username: 'ops',
          passwordHash: ops,
          acl: { publish: [], subscribe: ['floxgate/alerts/#', 'floxgate/status'] },
        },
      ],
      allowAnonymous: false,
      maxPayloadBytes: 1024,
      rateLimit: { messagesPerSecond: 1, burst: 5 },
      status: { topic: 'floxgate/status', gatewayId: 'gw-test' },
    })
    broker.onRefusal((r) => refusals.push(r))
    broker.intake.onMessage((m) => {
      got.push(m)
      m.ack()
    })
    await broker.intake.start()
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)))
    await broker.close()
  })

  function connect(opts: IClientOptions): Promise<MqttClient> {
    const c = mqtt.connect({
      host: '127.0.0.1',
      port: broker.ports.tcp!,
      reconnectPeriod: 0,
      ...opts,
    })
    clients.push(c)
    return new Promise((resolve, reject) => {
      c.once('connect', () => resolve(c))
      c.once('error', reject)
    })
  }

  function closed(c: MqttClient): Promise<void> {
    return new Promise((resolve) => c.once('close', () => resolve()))
  }

  function refusal(reason: Refusal['reason'], clientId: string): Promise<Refusal> {
    return waitFor(() => refusals.find((r) => r.reason === reason && r.clientId === clientId), {
      what: reason,
    })
  }

  it('refuses a wrong password with CONNACK 4 and reports it', async () => {
    const err = await connect({ clientId: 'bad-pw', username: 'd1', password: 'nope' }).catch(
      (e) => e,
    )
    expect(String(err)).toMatch(/Bad username or password/i)
    const r = await refusal('bad-credentials', 'bad-pw')
    expect(r).toMatchObject({ username: 'd1', action: 'connack-refused', detail: 'wrong password' })
  })

  it('refuses an unknown user the same way', async () => {
    const err = await connect({ clientId: 'ghost', username: 'ghost', password: 'x' }).catch(
      (e) => e,
    )
    expect(String(err)).toMatch(/Bad username or password/i)
    expect((await refusal('bad-credentials', 'ghost')).detail).toBe('unknown username')
  })

  it('refuses anonymous clients when the options say so', async () => {
    const err = await connect({ clientId: 'anon' }).catch((e) => e)
    expect(String(err)).toMatch(/Not authorized/i)
    await refusal('anonymous-refused', 'anon')
  })

  it('accepts a device publishing under its own topic and delivers it', async () => {
    const c = await connect({ clientId: 'dev-1', username: 'd1', password: 'pw-d1' })
    await c.publishAsync('sensors/d1/telemetry', '{"temperature":20}', { qos: 1 })
    expect(got.some((m) => m.clientId === 'dev-1' && m.topic === 'sensors/d1/telemetry')).toBe(true)
  })

  it("acknowledges and dead-letters a device publishing under another device's topic; it stays connected", async () => {
    const c = await connect({ clientId: 'dev-1b', username: 'd1', password: 'pw-d1' })
    await c.publishAsync('sensors/d2/telemetry', '{"temperature":20}', { qos: 1 })
    const r = await refusal('acl-publish', 'dev-1b')
    expect(r).toMatchObject({
      username: 'd1',
      topic: 'sensors/d2/telemetry',
      action: 'dead-lettered',
    })
    const mine = got.filter((m) => m.topic === 'sensors/d2/telemetry')
    expect(mine.map((m) => m.refused?.reason)).toEqual(['not-authorized'])
    expect(c.connected).toBe(true)
  })

  it('disconnects only a client that keeps sending refused messages', async () => {
    const c = await connect({ clientId: 'dev-rep', username: 'd1', password: 'pw-d1' })
    const gone = closed(c)
    for (let i = 0; i < 12; i++) c.publish('sensors/d2/telemetry', `x${i}`, { qos: 0 })
    await gone
    const mine = refusals.filter((r) => r.clientId === 'dev-rep')
    expect(mine.filter((r) => r.action === 'dead-lettered')).toHaveLength(10)
    expect(mine.at(-1)?.action).toBe('disconnected')
  })

  it('refuses a subscription to alerts without permission, grants it to an allowed user', async () => {
    const dev = await connect({ clientId: 'dev-1c', username: 'd1', password: 'pw-d1' })
    // MQTT.js rejects a SUBACK with 0x80; the connection stays up
    const denied = await dev.subscribeAsync('floxgate/alerts/#', { qos: 1 }).catch((e: Error) => e)
    expect(String(denied)).toMatch(/Subscribe error/)
    expect(dev.connected).toBe(true)
    expect((await refusal('acl-subscribe', 'dev-1c')).topic).toBe('floxgate/alerts/#')
    const ops = await connect({ clientId: 'ops-1', username: 'ops', password: 'pw-ops' })
    const granted = await ops.subscribeAsync('floxgate/alerts/+/temperature', { qos: 1 })
    expect(granted[0]!.qos).toBe(1)
  })

  it('refuses a $SYS publish', async () => {
    const c = await connect({ clientId: 'dev-sys', username: 'd1', password: 'pw-d1' })
    await c.publishAsync('$SYS/fake', 'x', { qos: 1 })
    expect((await refusal('sys-topic', 'dev-sys')).action).toBe('dead-lettered')
  })

  it('acknowledges an oversize payload, keeps its size and first bytes, and says who', async () => {
    const c = await connect({ clientId: 'dev-big', username: 'd1', password: 'pw-d1' })
    await c.publishAsync('sensors/d1/telemetry', Buffer.alloc(4096, 0x20), { qos: 1 })
    const r = await refusal('payload-too-large', 'dev-big')
    expect(r.detail).toContain('4096 bytes')
    expect(r.username).toBe('d1')
    const m = got.find((x) => x.clientId === 'dev-big')
    expect(m?.refused?.reason).toBe('payload-too-large')
    expect(m?.payload.length).toBe(256)
    expect(c.connected).toBe(true)
  })

  it('refuses topics with U+0000 or invalid UTF-8 (MQTT-1.5.3-1, -2)', async () => {
    const c = await connect({ clientId: 'dev-nul', username: 'd1', password: 'pw-d1' })
    await c.publishAsync('sensors/d1\u0000/telemetry', 'x', { qos: 1 })
    expect((await refusal('bad-topic', 'dev-nul')).detail).toContain('U+0000')
    expect(got.find((m) => m.clientId === 'dev-nul')?.refused?.reason).toBe('bad-topic')
  })

  it('refuses a client id longer than the limit at CONNECT, without keeping it', async () => {
    const err = await connect({ clientId: 'x'.repeat(50_000), username: 'd1', password: 'pw-d1' })
      .then(() => 'connected')
      .catch((e: Error) => e.message)
    expect(err).toMatch(/Identifier rejected/i)
    const r = refusals.find((x) => x.reason === 'bad-client-id')
    expect(r?.clientId.length).toBeLessThan(200)
  })

  it('refuses a client id that belongs to another account (no session takeover)', async () => {
    const owner = await connect({ clientId: 'shared-id', username: 'd1', password: 'pw-d1' })
    const err = await connect({ clientId: 'shared-id', username: 'ops', password: 'pw-ops' })
      .then(() => 'connected')
      .catch((e: Error) => e.message)
    expect(err).toMatch(/Identifier rejected/i)
    const anon = await connect({ clientId: 'd1', username: 'ops', password: 'pw-ops' })
      .then(() => 'connected')
      .catch((e: Error) => e.message)
    expect(anon).toMatch(/Identifier rejected/i)
    expect(owner.connected).toBe(true)
  })

  it('drops QoS 0 beyond the rate limit and disconnects on QoS 1 beyond it', async () => {
    const c = await connect({ clientId: 'dev-fast', username: 'd1', password: 'pw-d1' })
    const before = got.filter((m) => m.clientId === 'dev-fast').length
    for (let i = 0; i < 20; i++) c.publish('sensors/d1/telemetry', `q0-${i}`, { qos: 0 })
    await waitFor(() => refusals.filter((r) => r.clientId === 'dev-fast').length >= 14, {
      what: 'drops',
    })
    expect(c.connected).toBe(true)
    const r = refusals.find((x) => x.clientId === 'dev-fast')
    expect(r).toMatchObject({ reason: 'rate-limited', action: 'dropped' })
    // the burst of 5 (plus at most one refill) got through
    const delivered = got.filter((m) => m.clientId === 'dev-fast').length - before
    expect(delivered).toBeGreaterThanOrEqual(5)
    expect(delivered).toBeLessThanOrEqual(7)
    const gone = closed(c)
    c.publish('sensors/d1/telemetry', 'q1', { qos: 1 })
    await gone
    await waitFor(() =>
      refusals.some((x) => x.clientId === 'dev-fast' && x.action === 'disconnected'),
    )
    expect(broker.refusalCounts()['rate-limited']).toBeGreaterThanOrEqual(15)
  })

  it('publishes a retained online status with the version', async () => {
    const ops = await connect({ clientId: 'ops-2', username: 'ops', password: 'pw-ops' })
    const status = new Promise<{ body: unknown; retain: boolean }>((resolve) =>
      ops.on('message', (_t, p, packet) =>
        resolve({ body: JSON.parse(p.toString()), retain: packet.retain }),
      ),
    )
    await ops.subscribeAsync('floxgate/status', { qos: 1 })
    const { body, retain } = await status
    expect(retain).toBe(true)
    expect(body).toMatchObject({ gateway: 'gw-test', state: 'online', version: VERSION })
  })
})
