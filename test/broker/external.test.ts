import { chmodSync, mkdirSync } from 'node:fs'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { ExternalBroker } from '../../src/broker/external.js'
import type { SensorMessage } from '../../src/broker/intake.js'
import { ERR, isError } from '../../src/errors.js'
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js'
import { freePort } from '../helpers/net.js'
import { selfSignedCert } from '../helpers/tls.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

describe('external broker intake (Mosquitto)', () => {
  let mosq: Mosquitto | undefined
  let gw: ExternalBroker | undefined
  const clients: MqttClient[] = []
  const cleanups: Array<() => void> = []
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)))
    await gw?.close()
    await mosq?.close()
    for (const c of cleanups.splice(0)) c()
  })

  async function sensor(port: number): Promise<MqttClient> {
    const c = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0 })
    clients.push(c)
    return c
  }

  function gateway(url: string, extra: Partial<Parameters<typeof ExternalBroker.connect>[0]> = {}) {
    gw = ExternalBroker.connect({
      url,
      clientId: 'floxgate-ext-test',
      sensorTopics: ['sensors/+/telemetry'],
      reconnect: { initialMs: 50, maxMs: 200 },
      ...extra,
    })
    return gw
  }

  it('keeps many messages in flight unacknowledged at once (acks are not serialised)', async () => {
    mosq = await startMosquitto()
    const g = gateway(mosq.url)
    const got: SensorMessage[] = []
    g.intake.onMessage((m) => {
      got.push(m)
    })
    await g.intake.start()
    await g.whenConnected()
    const s = await sensor(mosq.port)
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        s.publishAsync('sensors/d/telemetry', `m${i}`, { qos: 1 }),
      ),
    )
    await waitFor(() => got.length === 200, { what: '200 unacknowledged deliveries' })
    expect(g.acknowledged).toBe(0)
    for (const m of got) m.ack()
    await waitFor(() => g.acknowledged === 200, { what: '200 PUBACKs' })
    expect(got.map((m) => m.payload.toString())).toEqual(
      Array.from({ length: 200 }, (_, i) => `m${i}`),
    )
  })

  // Mosquitto 2.0 sends past the Receive Maximum once PUBACKs flow, and QoS 0 has no window
  // at all: without this a 100,000-reading flood filled the heap (issue 11).
  it.each([0, 1] as const)(
    'reads no further message while the workflow is full (QoS %i), then delivers them all in order',
    async (qos) => {
      mosq = await startMosquitto()
      const g = gateway(mosq.url)
      const got: SensorMessage[] = []
      let release: (() => void) | undefined
      let takenWhileFull = 0
      g.intake.onMessage((m) => {
        if (release) takenWhileFull++
        got.push(m)
        m.ack()
        if (got.length !== 10) return undefined
        return new Promise<void>((resolve) => {
          release = () => {
            release = undefined
            resolve()
          }
        })
      })
      await g.intake.start()
      await g.whenConnected()
      const stream = (g as unknown as { client: MqttClient }).client.stream as unknown as Socket
      const before = stream.bytesRead
      const s = await sensor(mosq.port)
      const payloads = Array.from({ length: 300 }, (_, i) => `m${i}`)
      for (const p of payloads) s.publish('sensors/d/telemetry', p, { qos })
      // a lower bound of the PUBLISH packets' bytes: header, topic, packet id, payload
      const bytes = payloads.reduce((n, p) => n + 2 + 2 + 19 + (qos === 1 ? 2 : 0) + p.length, 0)
      // Once the bytes are read, MQTT.js parses and hands on every packet in the same
      // tick chain: a gateway that did not wait would have taken them all by now.
      await waitFor(() => stream.bytesRead - before >= bytes && release, {
        what: 'all PUBLISH bytes read, the 10th message waiting',
      })
      expect(got).toHaveLength(10)
      expect(takenWhileFull).toBe(0)
      release!()
      await waitFor(() => got.length === 300, { what: 'the rest after the wait' })
      expect(takenWhileFull).toBe(0)
      expect(got.map((m) => m.payload.toString())).toEqual(payloads)
      if (qos === 1) await waitFor(() => g.acknowledged === 300, { what: '300 PUBACKs' })
    },
  )

  it('ack(err) drops the connection and Mosquitto redelivers the message', async () => {
    mosq = await startMosquitto()
    const g = gateway(mosq.url)
    const got: SensorMessage[] = []
    g.intake.onMessage((m) => {
      got.push(m)
    })
    await g.intake.start()
    await g.whenConnected()
    const s = await sensor(mosq.port)
    await s.publishAsync('sensors/d/telemetry', 'again', { qos: 1 })
    await waitFor(() => got.length === 1)
    got[0]!.ack(new Error('disk full'))
    await waitFor(() => got.length === 2, { what: 'redelivery after reconnect' })
    expect(got[1]!.payload.toString()).toBe('again')
    got[1]!.ack()
    await waitFor(() => g.acknowledged === 1)
  })

  it('publishes a retained online status, and the Last Will says offline when the gateway dies', async () => {
    mosq = await startMosquitto()
    const g = gateway(mosq.url, { status: { topic: 'floxgate/status', gatewayId: 'gw-ext' } })
    await g.whenConnected()
    const watcher = await sensor(mosq.port)
    const states: string[] = []
    watcher.on('message', (_t, p) => states.push(JSON.parse(p.toString()).state))
    await watcher.subscribeAsync('floxgate/status', { qos: 1 })
    await waitFor(() => states[0] === 'online', { what: 'online' })
    // no DISCONNECT packet: the broker must publish the will
    const stream = (g as unknown as { client: MqttClient }).client.stream
    stream.destroy()
    await waitFor(() => states.includes('offline'), { what: 'Last Will' })
  })

  it('connects over mqtts:// with a CA file', async () => {
    const tmp = tempDir('floxgate-mqtts-')
    cleanups.push(tmp.cleanup)
    const { certFile: cert, keyFile: key } = selfSignedCert(tmp.dir)
    // Mosquitto started as root drops to its own user, which must read these test files
    chmodSync(tmp.dir, 0o755)
    for (const f of [cert, key]) chmodSync(f, 0o644)
    const tlsPort = await freePort()
    mosq = await startMosquitto({
      extraConfig: [`listener ${tlsPort} 127.0.0.1`, `certfile ${cert}`, `keyfile ${key}`],
    })
    const g = gateway(`mqtts://127.0.0.1:${tlsPort}`, { caFile: cert })
    const got: SensorMessage[] = []
    g.intake.onMessage((m) => {
      got.push(m)
    })
    await g.intake.start()
    await g.whenConnected()
    const s = await sensor(mosq.port)
    await s.publishAsync('sensors/d/telemetry', 'via-tls', { qos: 1 })
    await waitFor(() => got.length === 1)
    expect(got[0]!.payload.toString()).toBe('via-tls')
  })

  it('presents broker.external certFile/keyFile to a broker that requires a client certificate', async () => {
    const tmp = tempDir('floxgate-mqtts-client-')
    cleanups.push(tmp.cleanup)
    for (const d of ['server', 'client']) mkdirSync(join(tmp.dir, d))
    const server = selfSignedCert(join(tmp.dir, 'server'))
    const client = selfSignedCert(join(tmp.dir, 'client'))
    chmodSync(tmp.dir, 0o755)
    for (const d of ['server', 'client']) chmodSync(join(tmp.dir, d), 0o755)
    for (const f of [server.certFile, server.keyFile, client.certFile, client.keyFile])
      chmodSync(f, 0o644)
    const tlsPort = await freePort()
    mosq = await startMosquitto({
      extraConfig: [
        `listener ${tlsPort} 127.0.0.1`,
        `certfile ${server.certFile}`,
        `keyfile ${server.keyFile}`,
        // the client's self-signed certificate is its own CA
        `cafile ${client.certFile}`,
        'require_certificate true',
      ],
    })
    const url = `mqtts://127.0.0.1:${tlsPort}`
    // without the client certificate the handshake is refused
    const errors: Error[] = []
    gateway(url, { caFile: server.certFile, onError: (e) => errors.push(e) })
    await waitFor(() => errors.length > 0, { what: 'the refused handshake' })
    expect(gw?.connected).toBe(false)
    await gw?.close()
    // with it, the gateway connects and receives readings
    const g = gateway(url, {
      caFile: server.certFile,
      certFile: client.certFile,
      keyFile: client.keyFile,
    })
    const got: SensorMessage[] = []
    g.intake.onMessage((m) => {
      got.push(m)
    })
    await g.intake.start()
    await g.whenConnected()
    const s = await sensor(mosq.port)
    await s.publishAsync('sensors/d/telemetry', 'with-client-cert', { qos: 1 })
    await waitFor(() => got.length === 1)
    expect(got[0]!.payload.toString()).toBe('with-client-cert')
  })

  it('refuses a URL that is not mqtt:// or mqtts://, and an unreadable CA file', () => {
    expect(() => gateway('http://127.0.0.1:1883')).toThrow(
      expect.toSatisfy((e: unknown) => isError(e, ERR.MQTT_BAD_URL)),
    )
    gw = undefined
    expect(() => gateway('mqtts://127.0.0.1:1', { caFile: '/nonexistent/ca.pem' })).toThrow(
      expect.toSatisfy((e: unknown) => isError(e, ERR.MQTT_CA_UNREADABLE)),
    )
    gw = undefined
  })
})
