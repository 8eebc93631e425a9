/**
 * The behaviour every SensorIntake must have (MQTT.js' abstract_store style): run by
 * conformance-embedded.test.ts and conformance-external.test.ts.
 */
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Publisher, SensorIntake, SensorMessage } from '../../src/broker/intake.js'
import { waitFor } from '../helpers/wait.js'

/** The gateway side of one run: an intake and a publisher. */
export interface GatewaySide {
  readonly intake: SensorIntake
  readonly publisher: Publisher
  /** PUBACKs the gateway has sent for sensor messages, seen from where they are measured. */
  acknowledged(): number
  close(): Promise<void>
}

export interface IntakeHarness {
  /** Where sensors and observers connect (a TCP port on 127.0.0.1). */
  readonly port: number
  /** Starts (or restarts, keeping its identity) the gateway side. */
  startGateway(): Promise<GatewaySide>
  /** A round trip after which a PUBACK already written would have been seen. */
  fence(): Promise<void>
  /** A sensor publish whose PUBACK is counted by `acknowledged()` where that applies. */
  sensorPublish(sensor: MqttClient, topic: string, payload: string): Promise<unknown>
  close(): Promise<void>
}

export const SENSOR_FILTER = 'sensors/+/telemetry'

export function connectClient(port: number, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 50, ...opts })
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c))
    c.once('error', (err) => {
      c.end(true)
      reject(err)
    })
  })
}

function collect(intake: SensorIntake): SensorMessage[] {
  const got: SensorMessage[] = []
  intake.onMessage((m) => {
    got.push(m)
  })
  return got
}

export function intakeConformance(name: string, makeHarness: () => Promise<IntakeHarness>): void {
  describe(`SensorIntake conformance: ${name}`, () => {
    let h: IntakeHarness
    let gw: GatewaySide | undefined
    const clients: MqttClient[] = []

    beforeEach(async () => {
      h = await makeHarness()
    })
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.endAsync(true)))
      await gw?.close()
      gw = undefined
      await h.close()
    })

    async function client(opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
      const c = await connectClient(h.port, opts)
      clients.push(c)
      return c
    }

    it('delivers a QoS 1 sensor publish to the handler, and acknowledges only after ack()', async () => {
      gw = await h.startGateway()
      const got = collect(gw.intake)
      await gw.intake.start()
      const sensor = await client({ clientId: 'sensor-a' })
      void h.sensorPublish(sensor, 'sensors/d1/telemetry', '{"temperature":21.5}').catch(() => {})
      const [m] = await waitFor(() => (got.length === 1 ? got : undefined), { what: 'delivery' })
      expect(m!.topic).toBe('sensors/d1/telemetry')
      expect(m!.payload.toString()).toBe('{"temperature":21.5}')
      expect(m!.qos).toBe(1)
      expect(m!.receivedAt).toBeGreaterThan(Date.now() - 60_000)

      await h.fence()
      expect(gw.acknowledged()).toBe(0)
      m!.ack()
      const g = gw
      await waitFor(() => g.acknowledged() === 1, { what: 'PUBACK after ack()' })
    })

    it('holds messages that arrive before the handler is set and the intake started', async () => {
      gw = await h.startGateway()
      const sensor = await client({ clientId: 'sensor-b' })
      void h.sensorPublish(sensor, 'sensors/d2/telemetry', 'early').catch(() => {})
      await h.fence()
      expect(gw.acknowledged()).toBe(0)
      const got = collect(gw.intake)
      await gw.intake.start()
      await waitFor(() => got.length === 1, { what: 'held message' })
      expect(got[0]!.payload.toString()).toBe('early')
      got[0]!.ack()
      const g = gw
      await waitFor(() => g.acknowledged() === 1, { what: 'PUBACK' })
    })

    it('redelivers a message not acknowledged before the gateway stopped', async () => {
      gw = await h.startGateway()
      const first = collect(gw.intake)
      await gw.intake.start()
      const sensor = await client({ clientId: 'sensor-c', clean: false })
      void h.sensorPublish(sensor, 'sensors/d3/telemetry', 'keep-me').catch(() => {})
      await waitFor(() => first.length === 1, { what: 'first delivery' })
      await gw.intake.stop()
      await gw.close()

      gw = await h.startGateway()
      const second = collect(gw.intake)
      await gw.intake.start()
      await waitFor(() => second.length >= 1, {
        what: 'redelivery after restart',
        timeoutMs: 20_000,
      })
      expect(second[0]!.payload.toString()).toBe('keep-me')
      second[0]!.ack()
      const g = gw
      await waitFor(() => g.acknowledged() === 1, { what: 'PUBACK of the redelivered message' })
    })

    it('delivers nothing after stop() resolves', async () => {
      gw = await h.startGateway()
      const got = collect(gw.intake)
      await gw.intake.start()
      await gw.intake.stop()
      const sensor = await client({ clientId: 'sensor-d' })
      void h.sensorPublish(sensor, 'sensors/d4/telemetry', 'late').catch(() => {})
      await h.fence()
      await h.fence()
      expect(got).toHaveLength(0)
      expect(gw.acknowledged()).toBe(0)
    })

    it('shows a retained publish to a late subscriber', async () => {
      gw = await h.startGateway()
      await gw.publisher.publish('floxgate/alerts/d1/temperature', '{"state":"raised"}', {
        qos: 1,
        retain: true,
      })
      const late = await client()
      const seen = new Promise<{ payload: string; retain: boolean }>((resolve) =>
        late.on('message', (_t, payload, packet) =>
          resolve({ payload: payload.toString(), retain: packet.retain }),
        ),
      )
      await late.subscribeAsync('floxgate/alerts/#', { qos: 1 })
      expect(await seen).toEqual({ payload: '{"state":"raised"}', retain: true })
    })

    it('refuses to publish to a topic with a wildcard, and keeps publishing', async () => {
      gw = await h.startGateway()
      const observer = await client()
      const seen: string[] = []
      observer.on('message', (t) => seen.push(t))
      await observer.subscribeAsync('floxgate/#', { qos: 1 })
      for (const topic of ['floxgate/alerts/a#/t', 'floxgate/alerts/a+/t', '']) {
        await expect(
          gw.publisher.publish(topic, 'x', { qos: 1, retain: true }),
          topic,
        ).rejects.toThrow(/failed \(the topic (contains the wildcard|is empty)/)
      }
      await gw.publisher.publish('floxgate/alerts/ok/t', 'y', { qos: 1, retain: false })
      await waitFor(() => seen.includes('floxgate/alerts/ok/t') || undefined)
      expect(seen).toEqual(['floxgate/alerts/ok/t'])
    })
  })
}
