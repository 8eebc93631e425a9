/**
 * Property-based fuzz of payloads and raw MQTT packets against the real daemon (a child
 * process on a loopback port). After every case the daemon must be alive, its RSS
 * bounded, and a well-behaved sensor's QoS 1 reading acknowledged and stored
 * (watched-daemon.ts). Iterations are bounded to keep CI short.
 */
import fc from 'fast-check'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { connackCode, connectPacket, publishPacket } from '../helpers/raw-mqtt.js'
import { waitFor } from '../helpers/wait.js'
import { useWatchedDaemon } from './watched-daemon.js'

const w = useWatchedDaemon('floxgate-fuzz-')

describe('property-based fuzz', () => {
  it('random payloads on sensor topics are each acknowledged; the daemon stays well', async () => {
    const c = mqtt.connect({
      host: '127.0.0.1',
      port: w.port,
      clientId: 'fuzz-payload',
      reconnectPeriod: 0,
    })
    await new Promise<void>((r) => c.once('connect', () => r()))
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
          fc.json().map((j) => Buffer.from(j)),
          fc
            .dictionary(fc.constantFrom('temperature', 'humidity', 'ts', 'id'), fc.jsonValue())
            .map((o) => Buffer.from(JSON.stringify(o))),
        ),
        fc.constantFrom('a', 'b', 'c'),
        async (payload, leaf) => {
          // every one is acknowledged: stored, or kept as a dead letter
          await c.publishAsync(`sensors/fuzz-${leaf}/telemetry`, payload, { qos: 1 })
        },
      ),
      { numRuns: 60, seed: 9 },
    )
    await c.endAsync(true)
    await w.isWell()
  }, 60_000)

  it('random MQTT packets after a CONNECT never take the daemon down', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 256 }).map((a) => Buffer.from(a)),
          fc
            .tuple(fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 64 }))
            .map(([type, body]) =>
              Buffer.concat([Buffer.from([type << 4, body.length]), Buffer.from(body)]),
            ),
          fc
            .tuple(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 64 }))
            .map(([t, p]) => publishPacket(t, Buffer.from(p), 1, 3)),
        ),
        async (bytes) => {
          await w.withRaw(async (c) => {
            c.socket.write(connectPacket({ clientId: 'fuzz-raw' }))
            await waitFor(() => connackCode(c.received()) !== undefined, { what: 'CONNACK' })
            c.socket.write(bytes)
            c.socket.write(Buffer.from([0xc0, 0])) // PINGREQ: answered unless the garbage closed it
            // A packet whose length claims more bytes than were sent leaves the broker
            // waiting for them (as MQTT requires); only a close or an answer is observable.
            await waitFor(() => c.isClosed() || c.received().includes(Buffer.from([0xd0, 0])), {
              what: 'PINGRESP or close',
              timeoutMs: 500,
            }).catch(() => undefined)
          })
          expect(w.daemon.child.exitCode).toBeNull()
        },
      ),
      { numRuns: 40, seed: 11 },
    )
    await w.isWell()
  }, 60_000)
})
