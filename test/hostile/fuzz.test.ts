/**
 * Property-based fuzz of the payload parser and of raw MQTT packets against the real
 * daemon (a child process on a loopback port, under the unit's heap cap). After every
 * property the daemon must be alive, its RSS under RSS_BOUND_MB, and a well-behaved
 * sensor's QoS 1 reading acknowledged and stored (Target.isWell); the daemon's liveness is
 * checked after every single case. Iterations are bounded to keep CI short; the seeds are
 * fixed so a failure replays.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from '../crash/daemon-process.js'
import {
  connackCode,
  connectPacket,
  packetHeader,
  publishPacket,
  type RawClient,
  rawConnect,
} from '../helpers/raw-mqtt.js'
import { waitFor } from '../helpers/wait.js'
import { Target } from './target.js'

let t: Target

async function withRaw<T>(fn: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await rawConnect(t.port)
  try {
    return await fn(c)
  } finally {
    c.socket.destroy()
  }
}

/** A fixed header: packet type and flags, then a remaining length of 1 to 4 bytes. */
const anyHeader = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 268_435_455 }))
  .map(([first, length]) => packetHeader(first, length))

/** Random bytes, or a header announcing any length followed by a few bytes of body. */
const rawPacket = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 256 }).map((a) => Buffer.from(a)),
  fc
    .tuple(anyHeader, fc.uint8Array({ maxLength: 64 }))
    .map(([h, body]) => Buffer.concat([h, Buffer.from(body)])),
  fc
    .tuple(fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 64 }))
    .map(([type, body]) =>
      Buffer.concat([Buffer.from([type << 4, body.length]), Buffer.from(body)]),
    ),
)

/** Writes `bytes`, then a PINGREQ; waits for its PINGRESP, a close, or half a second. */
async function sendAndPing(c: RawClient, bytes: Buffer): Promise<void> {
  c.socket.write(bytes)
  c.socket.write(Buffer.from([0xc0, 0])) // PINGREQ: answered unless the garbage closed it
  // A packet whose length claims more bytes than were sent leaves the broker
  // waiting for them (as MQTT requires); only a close or an answer is observable.
  await waitFor(() => c.isClosed() || c.received().includes(Buffer.from([0xd0, 0])), {
    what: 'PINGRESP or close',
    timeoutMs: 500,
  }).catch(() => undefined)
}

beforeAll(async () => {
  ensureBuilt()
  t = await Target.start({
    topics: [{ pattern: 'sensors/{device}/{metric}', format: 'number' }, { preset: 'rtl_433' }],
  })
}, 60_000)

afterAll(async () => {
  await t?.cleanup()
})

describe('property-based fuzz', () => {
  it('random payloads on sensor topics are each acknowledged; the daemon stays well', async () => {
    const c = await t.client({ clientId: 'fuzz-payload' })
    const fields = [
      'temperature',
      'humidity',
      'ts',
      'id',
      'model',
      'channel',
      'temperature_C',
      'battery_ok',
      'time',
    ]
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
          fc.json().map((j) => Buffer.from(j)),
          fc
            .dictionary(fc.constantFrom(...fields), fc.oneof(fc.jsonValue(), fc.string()))
            .map((o) => Buffer.from(JSON.stringify(o))),
          fc.oneof(fc.double(), fc.string()).map((v) => Buffer.from(String(v))),
        ),
        fc.constantFrom(
          'sensors/fuzz-a/telemetry',
          'sensors/fuzz-b/temperature',
          'rtl_433/fuzz/events',
        ),
        async (payload, topic) => {
          // every one is acknowledged: stored, or kept as a dead letter
          await c.publishAsync(topic, payload, { qos: 1 })
          expect(t.daemon.child.exitCode).toBeNull()
        },
      ),
      { numRuns: 150, seed: 9 },
    )
    expect(c.connected).toBe(true)
    await c.endAsync(true)
    await t.isWell()
  }, 60_000)

  it('random MQTT packets after a CONNECT never take the daemon down', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          rawPacket,
          fc
            .tuple(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 64 }))
            .map(([topic, p]) => publishPacket(topic, Buffer.from(p), 1, 3)),
        ),
        async (bytes) => {
          await withRaw(async (c) => {
            c.socket.write(connectPacket({ clientId: 'fuzz-raw' }))
            await waitFor(() => connackCode(c.received()) !== undefined, { what: 'CONNACK' })
            await sendAndPing(c, bytes)
          })
          expect(t.daemon.child.exitCode).toBeNull()
        },
      ),
      { numRuns: 60, seed: 11 },
    )
    await t.isWell()
  }, 90_000)

  it('random bytes instead of a CONNECT never take the daemon down (a 5-byte header once did)', async () => {
    await fc.assert(
      fc.asyncProperty(rawPacket, fc.uint8Array({ maxLength: 64 }), async (bytes, more) => {
        await withRaw(async (c) => {
          c.socket.write(bytes)
          // a second chunk: the parser's state after the first is what broke
          await sendAndPing(c, Buffer.from(more))
        })
        expect(t.daemon.child.exitCode).toBeNull()
      }),
      { numRuns: 60, seed: 12 },
    )
    await t.isWell()
  }, 90_000)
})
