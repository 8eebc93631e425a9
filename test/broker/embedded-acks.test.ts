import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { EmbeddedBroker } from '../../src/broker/embedded.js'
import type { SensorMessage } from '../../src/broker/intake.js'
import type { Refusal } from '../../src/broker/refusal.js'
import { freePort } from '../helpers/net.js'
import { waitFor } from '../helpers/wait.js'

describe('embedded broker: delayed acknowledgements', () => {
  let broker: EmbeddedBroker | undefined
  const clients: MqttClient[] = []
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)))
    await broker?.close()
  })

  async function setup(port = 0) {
    broker = await EmbeddedBroker.start({
      tcp: { host: '127.0.0.1', port },
      sensorTopics: ['sensors/+/telemetry'],
      allowAnonymous: true,
      anonymousAcl: { publish: ['#'], subscribe: ['#'] },
      status: { topic: 'floxgate/status', gatewayId: 'gw' },
    })
    const got: SensorMessage[] = []
    broker.intake.onMessage((m) => {
      got.push(m)
    })
    await broker.intake.start()
    return { broker, got }
  }

  function connect(port: number, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
    const c = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 50, ...opts })
    clients.push(c)
    return new Promise((resolve) => c.once('connect', () => resolve(c)))
  }

  it('sends a batch of PUBACKs in receive order when acks arrive together, out of order', async () => {
    const { broker: b, got } = await setup()
    const sensor = await connect(b.ports.tcp!)
    const pubackIds: number[] = []
    sensor.on('packetreceive', (p) => {
      if (p.cmd === 'puback') pubackIds.push(p.messageId!)
    })
    const sentIds: number[] = []
    sensor.on('packetsend', (p) => {
      if (p.cmd === 'publish') sentIds.push(p.messageId!)
    })
    const all = Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        sensor.publishAsync('sensors/d/telemetry', `m${i}`, { qos: 1 }),
      ),
    )
    await waitFor(() => got.length === 50, { what: '50 deliveries' })
    expect(pubackIds).toEqual([])
    // a group commit: the store acks its whole batch at once, here in reverse
    for (const m of [...got].reverse()) m.ack()
    await all
    expect(pubackIds).toEqual(sentIds)
  })

  it('ack(err) sends no PUBACK, drops the connection, and the sensor resends', async () => {
    const { broker: b, got } = await setup()
    const refusals: Refusal[] = []
    b.onRefusal((r) => refusals.push(r))
    const sensor = await connect(b.ports.tcp!, { clientId: 'flaky' })
    let acked = false
    void sensor.publishAsync('sensors/d/telemetry', 'retry-me', { qos: 1 }).then(() => {
      acked = true
    })
    await waitFor(() => got.length === 1)
    got[0]!.ack(new Error('disk full'))
    await waitFor(() => got.length === 2, { what: 'resend after reconnect' })
    expect(acked).toBe(false)
    expect(got[1]!.payload.toString()).toBe('retry-me')
    expect(refusals).toContainEqual(
      expect.objectContaining({ reason: 'not-stored', clientId: 'flaky' }),
    )
    got[1]!.ack()
    await waitFor(() => acked, { what: 'PUBACK of the resent message' })
  })

  it('a throwing handler fails only that message; the broker keeps serving', async () => {
    broker = await EmbeddedBroker.start({
      tcp: { host: '127.0.0.1', port: 0 },
      sensorTopics: ['sensors/+/telemetry'],
      allowAnonymous: true,
      anonymousAcl: { publish: ['#'], subscribe: [] },
    })
    let calls = 0
    broker.intake.onMessage((m) => {
      calls++
      if (m.payload.toString() === 'poison' && calls === 1) throw new Error('boom')
      m.ack()
    })
    await broker.intake.start()
    const sensor = await connect(broker.ports.tcp!, { clientId: 'poisoner' })
    await sensor.publishAsync('sensors/d/telemetry', 'poison', { qos: 1 })
    expect(calls).toBe(2) // refused once, resent after reconnect, stored
    const other = await connect(broker.ports.tcp!)
    await other.publishAsync('sensors/e/telemetry', 'fine', { qos: 1 })
    expect(calls).toBe(3)
  })

  it('announces offline (retained) to subscribers when it closes', async () => {
    const port = await freePort()
    const { broker: b } = await setup(port)
    const watcher = await connect(port, { reconnectPeriod: 0 })
    const states: string[] = []
    watcher.on('message', (_t, p) => states.push(JSON.parse(p.toString()).state))
    await watcher.subscribeAsync('floxgate/status', { qos: 1 })
    await waitFor(() => states.length === 1)
    await b.close()
    expect(states).toEqual(['online', 'offline'])
  })
})
