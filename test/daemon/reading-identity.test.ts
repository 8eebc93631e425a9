import { spawn } from 'node:child_process'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { sampleSum, scrape } from '../helpers/prometheus.js'
import { rawSession } from '../helpers/raw-mqtt.js'
import { waitFor } from '../helpers/wait.js'
import { useDaemon } from './cli-process.js'
import { connectClient, type RecordingClient, telemetry, waitForReadings } from './harness.js'

/**
 * The identity of a reading (docs/storage.md), through the running daemon: real aedes,
 * real SQLite, mosquitto_pub and a bare MQTT client for DUP redeliveries. Each test
 * would fail on the (ts, series) key that merged readings by millisecond.
 */
const scene = useDaemon({
  http: { enabled: true },
  // A window closes only on the next window's reading here, never on the clock: the
  // readings are minutes old, so with a short grace a housekeeping tick between two
  // publishes closed the window after the first and counted the second as late (count 1,
  // seen once in CI under load).
  aggregates: { windowSeconds: 60, graceSeconds: 3600 },
  // two readings past 30 in a row: a redelivery must not be the second
  rules: [{ id: 'twice', metric: 'temperature', high: 30, count: 2 }],
})
let sensor: RecordingClient
beforeAll(async () => {
  sensor = await connectClient(scene.cfg.brokerPort)
})
afterAll(async () => {
  await sensor?.close()
})

function countRows(sql: string): number {
  const db = new Database(scene.cfg.dbFile, { readonly: true })
  try {
    return (db.prepare(sql).get() as { n: number }).n
  } finally {
    db.close()
  }
}

function mosquittoPub(topic: string, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(scene.cfg.brokerPort), '-q', '1', '-t', topic, '-l'],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    )
    let err = ''
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.on('error', reject)
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`mosquitto_pub exited ${code}: ${err}`)),
    )
    child.stdin.end(`${lines.join('\n')}\n`)
  })
}

it('100 plain numbers from mosquitto_pub -q 1 -l are 100 rows, repeated values included', async () => {
  const values = Array.from({ length: 100 }, (_, i) => i % 5)
  await mosquittoPub('sensors/plain/temperature', values.map(String))
  const rows = await waitForReadings(scene.db, 'plain', 100)
  expect(rows).toHaveLength(100)
  // Receive-time stamps are unique per series, in arrival order.
  expect(new Set(rows.map((r) => r.ts)).size).toBe(100)
  expect(rows.map((r) => r.value)).toEqual(values)
})

it('10,000 QoS 1 readings without a timestamp from 20 devices at once are 10,000 rows', async () => {
  const values = Array.from({ length: 500 }, (_, i) => String(i % 7))
  await Promise.all(
    Array.from({ length: 20 }, (_, d) => mosquittoPub(`sensors/many${d}/temperature`, values)),
  )
  const n = await waitFor(
    () => {
      const c = countRows(
        "SELECT count(*) AS n FROM readings r JOIN series s ON s.id = r.series WHERE s.device LIKE 'many%'",
      )
      return c >= 10_000 ? c : undefined
    },
    { timeoutMs: 30_000, what: '10,000 rows' },
  )
  expect(n).toBe(10_000)
  for (let d = 0; d < 20; d++) {
    expect(scene.db.readings(`many${d}`).map((r) => String(r.value))).toEqual(values)
  }
})

it('a re-sent reading feeds the rules once: it is not the second of two readings a rule needs', async () => {
  const t = Date.now() - 60_000
  const topic = 'sensors/twice/telemetry'
  await sensor.client.publishAsync(topic, telemetry({ temperature: 31 }, t), { qos: 1 })
  await sensor.client.publishAsync(topic, telemetry({ temperature: 31 }, t), { qos: 1 })
  expect(scene.db.alerts()).toEqual([])
  await sensor.client.publishAsync(topic, telemetry({ temperature: 32 }, t + 1), { qos: 1 })
  expect(scene.db.alerts().map((a) => [a.device, a.rule, a.state])).toEqual([
    ['twice', 'twice', 'raised'],
  ])
})

it('two readings with one sensor timestamp and different values are both kept; a re-send is stored and counted once', async () => {
  const windowStart = Math.floor(Date.now() / 60_000) * 60_000 - 120_000
  const t = windowStart + 1000
  const topic = 'sensors/clocked/telemetry'
  await sensor.client.publishAsync(topic, telemetry({ temperature: 20 }, t), { qos: 1 })
  await sensor.client.publishAsync(topic, telemetry({ temperature: 25 }, t), { qos: 1 })
  await sensor.client.publishAsync(topic, telemetry({ temperature: 20 }, t), { qos: 1 })
  // the next window's reading closes the first window
  await sensor.client.publishAsync(topic, telemetry({ temperature: 30 }, t + 60_000), {
    qos: 1,
  })
  const rows = await waitForReadings(scene.db, 'clocked', 3)
  expect(rows.map((r) => [r.ts, r.value])).toEqual([
    [t, 20],
    [t, 25],
    [t + 60_000, 30],
  ])
  const agg = await waitFor(() => scene.db.aggregates('clocked')[0], { what: 'the aggregate' })
  // The re-sent 20 counted once: 2 readings, mean 22.5 (was count 3, mean 21.7).
  expect(agg).toMatchObject({ count: 2, min: 20, max: 25, mean: 22.5 })
})

it('a DUP redelivery of a plain number (same session, packet id, payload) is stored once; a reused packet id without DUP is a new reading', async () => {
  const raw = await rawSession(scene.cfg.brokerPort, 'dup-sensor')
  try {
    const topic = 'sensors/clockless/temperature'
    await raw.publish(topic, '21.5', 7, false)
    await raw.publish(topic, '21.5', 7, true) // PUBACK lost: the sensor redelivers
    expect(scene.db.readings('clockless')).toHaveLength(1)
    await raw.publish(topic, '21.5', 7, false) // a new message reusing the id
    await raw.publish(topic, '21.5', 8, true) // DUP of something never stored: kept
    await raw.publish(topic, '22', 7, true) // DUP flag, other payload: not the same message
    expect(scene.db.readings('clockless').map((r) => r.value)).toEqual([21.5, 21.5, 21.5, 22])
  } finally {
    raw.close()
  }
})

it("a sensor message id seen before is a redelivery, whatever the payload's time", async () => {
  const topic = 'sensors/ided/telemetry'
  await sensor.client.publishAsync(topic, JSON.stringify({ temperature: 20, id: 'm1' }), {
    qos: 1,
  })
  await sensor.client.publishAsync(topic, JSON.stringify({ temperature: 20, id: 'm1' }), {
    qos: 1,
  })
  await sensor.client.publishAsync(topic, JSON.stringify({ temperature: 20, id: 'm2' }), {
    qos: 1,
  })
  expect(scene.db.readings('ided').map((r) => r.value)).toEqual([20, 20])
})

it('/metrics tells the truth: stored = rows in SQLite, in = stored + duplicates + dead letters + dropped', async () => {
  await sensor.client.publishAsync('sensors/bad/telemetry', 'not json', { qos: 1 })
  const rows = countRows('SELECT count(*) AS n FROM readings')
  const deadLetters = countRows('SELECT count(*) AS n FROM dead_letters')
  expect(deadLetters).toBe(1)
  const text = await scrape(scene.cfg.httpPort)
  const stored = sampleSum(text, 'floxgate_readings_stored_total')
  const duplicates = sampleSum(text, 'floxgate_readings_duplicate_total')
  const dead = sampleSum(text, 'floxgate_dead_letters_total')
  const dropped = sampleSum(text, 'floxgate_readings_dropped_total')
  const arrived = sampleSum(text, 'floxgate_readings_in_total')
  expect(stored).toBe(rows)
  // the re-sent 31 and 20, the DUP 21.5 and the message id m1 again
  expect(duplicates).toBe(4)
  expect(dead).toBe(deadLetters)
  expect(arrived).toBe(stored + duplicates + dead + dropped)
  expect(sampleSum(text, 'floxgate_store_commit_seconds_count')).toBeGreaterThan(0)
  // no uplink configured: the outbox is empty
  expect(sampleSum(text, 'floxgate_buffer_rows')).toBe(0)
})
