import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedBroker } from '../../src/broker/embedded.js'
import type { SensorMessage } from '../../src/broker/intake.js'
import { selfSignedCert } from '../helpers/tls.js'
import { tempDir } from '../helpers/tmp.js'

describe('embedded broker transports: TLS and websocket', () => {
  const tmp = tempDir('floxgate-tls-')
  let broker: EmbeddedBroker
  let ca: Buffer
  const got: SensorMessage[] = []
  const clients: MqttClient[] = []

  beforeAll(async () => {
    const { cert, key } = selfSignedCert(tmp.dir)
    ca = cert
    broker = await EmbeddedBroker.start({
      tls: { host: '127.0.0.1', port: 0, cert, key },
      websocket: { host: '127.0.0.1', port: 0 },
      sensorTopics: ['sensors/+/telemetry'],
      allowAnonymous: true,
      anonymousAcl: { publish: ['sensors/#'], subscribe: [] },
    })
    broker.intake.onMessage((m) => {
      got.push(m)
      m.ack()
    })
    await broker.intake.start()
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)))
    await broker.close()
    tmp.cleanup()
  })

  function connect(opts: mqtt.IClientOptions): Promise<MqttClient> {
    const c = mqtt.connect({ reconnectPeriod: 0, ...opts })
    clients.push(c)
    return new Promise((resolve, reject) => {
      c.once('connect', () => resolve(c))
      c.once('error', reject)
    })
  }

  it('accepts a sensor over TLS, verified against the certificate', async () => {
    const c = await connect({ protocol: 'mqtts', host: '127.0.0.1', port: broker.ports.tls!, ca })
    await c.publishAsync('sensors/tls/telemetry', 'over-tls', { qos: 1 })
    expect(got.map((m) => m.payload.toString())).toContain('over-tls')
  })

  it('refuses the TLS handshake of a client that does not trust the certificate', async () => {
    const err = await connect({
      protocol: 'mqtts',
      host: '127.0.0.1',
      port: broker.ports.tls!,
    }).catch((e) => e)
    expect(String(err)).toMatch(/self[- ]signed|certificate/i)
  })

  it('accepts a sensor over websocket', async () => {
    const c = await connect({
      protocol: 'ws',
      host: '127.0.0.1',
      port: broker.ports.websocket!,
      path: '/mqtt',
    })
    await c.publishAsync('sensors/ws/telemetry', 'over-ws', { qos: 1 })
    expect(got.map((m) => m.payload.toString())).toContain('over-ws')
  })
})
