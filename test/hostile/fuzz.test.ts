/**
 * Property-based fuzz of payloads and raw MQTT packets against the real daemon (a child
 * process on a loopback port). After every
 * case the daemon must be alive, its RSS under RSS_BOUND_MB, and a well-behaved sensor's
 * QoS 1 reading acknowledged and stored. Iterations are bounded to keep CI short.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import fc from 'fast-check'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type DaemonProcess,
  ensureBuilt,
  killAllDaemons,
  startDaemon,
  storedReadings,
  writeConfig,
} from '../crash/daemon-process.js'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import {
  connackCode,
  connectPacket,
  publishPacket,
  type RawClient,
  rawConnect,
  subscribePacket,
} from './raw-mqtt.js'

/** Stated bound (docs/security.md): the unit runs under a 128 MB heap cap. */
const RSS_BOUND_MB = 200
const tmp = tempDir('floxgate-fuzz-')
const dataDir = join(tmp.dir, 'data')
const dbFile = join(dataDir, 'floxgate.db')
let port: number
let configFile: string
let daemon: DaemonProcess
let sensor: MqttClient
let good = 0

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? 0) / 1024
}

async function connectSensor(): Promise<MqttClient> {
  const c = mqtt.connect({ host: '127.0.0.1', port, clientId: 'good-sensor', reconnectPeriod: 0 })
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve())
    c.once('error', reject)
  })
  return c
}

/** Alive, bounded, and still serving: asserted after every hostile case. */
async function daemonIsWell(): Promise<void> {
  expect(daemon.child.exitCode).toBeNull()
  expect(rssMb(daemon.child.pid!)).toBeLessThan(RSS_BOUND_MB)
  if (!sensor.connected) sensor = await connectSensor()
  good++
  await sensor.publishAsync('sensors/good/telemetry', JSON.stringify({ temperature: 20 + good }), {
    qos: 1,
  })
  // PUBACK follows the commit: the reading is in SQLite now.
  expect(storedReadings(dbFile, 'good').size).toBe(good)
}

async function withRaw<T>(fn: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await rawConnect(port)
  try {
    return await fn(c)
  } finally {
    c.socket.destroy()
  }
}

beforeAll(async () => {
  ensureBuilt()
  port = await freePort()
  configFile = writeConfig(tmp.dir, { dataDir, port })
  daemon = await startDaemon(configFile)
  sensor = await connectSensor()
}, 30_000)

afterAll(async () => {
  await sensor?.endAsync(true)
  await killAllDaemons()
  tmp.cleanup()
})

describe('property-based fuzz', () => {
  it('random payloads on sensor topics are each acknowledged; the daemon stays well', async () => {
    const c = mqtt.connect({
      host: '127.0.0.1',
      port,
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
    await daemonIsWell()
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
          await withRaw(async (c) => {
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
          expect(daemon.child.exitCode).toBeNull()
        },
      ),
      { numRuns: 40, seed: 11 },
    )
    await daemonIsWell()
  }, 60_000)
})
