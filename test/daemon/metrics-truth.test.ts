/**
 * Every figure on /metrics against the state it names, through the running daemon (a
 * child process with an uplink to a real Mosquitto): publish, scrape, and compare with
 * the rows in its SQLite file and what the upstream received. After each step,
 * in = stored + duplicates + dead letters + dropped{reason="unhealthy"}, exactly.
 */
import { statSync } from 'node:fs'
import Database from 'better-sqlite3'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, afterEach, expect, it } from 'vitest'
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js'
import { sampleSum, scrape as scrapeText } from '../helpers/prometheus.js'
import { rawSession } from '../helpers/raw-mqtt.js'
import { waitFor } from '../helpers/wait.js'
import { killAll, startDaemon } from './cli-process.js'
import {
  connectClient,
  type RecordingClient,
  type TestConfig,
  telemetry,
  writeTestConfig,
} from './harness.js'

const configs: TestConfig[] = []
const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => {})
  await killAll()
})
afterAll(() => {
  for (const c of configs) c.cleanup()
})

const LABELLED = new Set([
  'floxgate_dead_letters_total',
  'floxgate_readings_dropped_total{reason="unhealthy"}',
  'floxgate_alerts_cleared_total',
])

/** Each sample of /metrics by name, labels summed (test/helpers/prometheus.ts). */
async function scrape(cfg: TestConfig): Promise<(name: string) => number> {
  const text = await scrapeText(cfg.httpPort)
  return (name) => {
    // a labelled counter shows up with its first label value; a plain one always
    const found = text.split('\n').some((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    if (!found && !LABELLED.has(name)) throw new Error(`${name} is not on /metrics`)
    return sampleSum(text, name)
  }
}

function count(cfg: TestConfig, sql: string): number {
  const db = new Database(cfg.dbFile, { readonly: true })
  try {
    return (db.prepare(sql).get() as { n: number | null }).n ?? 0
  } finally {
    db.close()
  }
}

function expectBalanced(m: (name: string) => number): void {
  expect(m('floxgate_readings_in_total')).toBe(
    m('floxgate_readings_stored_total') +
      m('floxgate_readings_duplicate_total') +
      m('floxgate_dead_letters_total') +
      m('floxgate_readings_dropped_total{reason="unhealthy"}'),
  )
}

it('stored, duplicates, dead letters, alerts, buffer, backlog, lag and uplink_sent are the rows in SQLite and upstream', async () => {
  const upstream: Mosquitto = await startMosquitto()
  closers.push(() => upstream.close())
  // A consumer with a session the upstream keeps while it is stopped.
  const consumer: MqttClient = await mqtt.connectAsync(upstream.url, {
    clientId: 'metrics-central',
    clean: false,
    reconnectPeriod: 100,
  })
  closers.push(() => consumer.endAsync(true))
  const received = new Set<string>()
  consumer.on('message', (topic, payload) => {
    // outbox rows only, not the uplink's retained online/offline status
    if (!topic.endsWith('/floxgate/status')) received.add(`${topic} ${payload.toString()}`)
  })
  await consumer.subscribeAsync('gw-test/#', { qos: 1 })
  await upstream.stop()

  const cfg = await writeTestConfig({
    log: { level: 'info' },
    http: { enabled: true },
    rules: [{ id: 'hot', metric: 'temperature', high: 30 }],
    aggregates: { windowSeconds: 60, graceSeconds: 3600 },
    uplink: {
      url: upstream.url,
      streams: ['readings', 'alerts', 'dead-letters'],
      maxReplayPerSecond: 0,
    },
  })
  configs.push(cfg)
  await startDaemon(cfg.file)
  const sensor: RecordingClient = await connectClient(cfg.brokerPort)
  closers.push(() => sensor.close())
  const pub = (topic: string, payload: string) =>
    sensor.client.publishAsync(topic, payload, { qos: 1 })

  const t0 = Date.now() - 600_000
  for (let i = 0; i < 30; i++) {
    await pub('sensors/m1/telemetry', telemetry({ temperature: 20 + i / 10 }, t0 + i))
  }
  for (let i = 0; i < 5; i++) {
    await pub('sensors/m1/telemetry', telemetry({ temperature: 20 + i / 10 }, t0 + i)) // re-sends
  }
  await pub('sensors/m1/telemetry', telemetry({ temperature: 21, humidity: 40 }, t0 + 100))
  await pub('sensors/hot1/telemetry', telemetry({ temperature: 35 }, t0)) // raises 'hot'
  for (let i = 0; i < 20; i++) await pub('sensors/m2/temperature', String(i % 3))
  const raw = await rawSession(cfg.brokerPort, 'dup-metrics')
  closers.push(async () => raw.close())
  await raw.publish('sensors/m3/temperature', '7', 3, false)
  await raw.publish('sensors/m3/temperature', '7', 3, true) // a redelivery: counted once
  await pub('sensors/m1/telemetry', 'not json')
  await pub('sensors/m1/telemetry', telemetry({ temperature: 999 }, t0 + 200)) // out of range
  await pub('sensors/m4/telemetry', '{"ts": 1}') // no value

  const readings = 30 + 2 + 1 + 20 + 1
  const before = Date.now()
  const m = await scrape(cfg)
  const after = Date.now()
  expect(m('floxgate_readings_stored_total')).toBe(count(cfg, 'SELECT count(*) AS n FROM readings'))
  expect(m('floxgate_readings_stored_total')).toBe(readings)
  expect(m('floxgate_readings_duplicate_total')).toBe(5 + 1)
  expect(m('floxgate_dead_letters_total')).toBe(
    count(cfg, 'SELECT count(*) AS n FROM dead_letters'),
  )
  expect(m('floxgate_dead_letters_total')).toBe(3)
  expectBalanced(m)
  expect(m('floxgate_readings_in_total')).toBe(readings + 6 + 3)

  expect(m('floxgate_alerts_active')).toBe(count(cfg, 'SELECT count(*) AS n FROM alert_state'))
  expect(m('floxgate_alerts_active')).toBe(1)
  expect(m('floxgate_alerts_raised_total')).toBe(
    count(cfg, "SELECT count(*) AS n FROM alert_events WHERE state = 'raised'"),
  )
  expect(m('floxgate_alerts_cleared_total')).toBe(
    count(cfg, "SELECT count(*) AS n FROM alert_events WHERE state = 'cleared'"),
  )

  // The upstream is down: every forwarded row waits in the outbox.
  const outbox = count(cfg, 'SELECT count(*) AS n FROM outbox')
  expect(outbox).toBe(readings + 1 + 3) // readings, the raise, dead letters
  expect(m('floxgate_buffer_rows')).toBe(outbox)
  expect(m('floxgate_uplink_backlog_rows')).toBe(outbox)
  expect(m('floxgate_uplink_sent_total')).toBe(0)
  const oldest = count(cfg, 'SELECT min(created_at) AS n FROM outbox')
  expect(m('floxgate_uplink_lag_seconds')).toBeGreaterThanOrEqual((before - oldest) / 1000)
  expect(m('floxgate_uplink_lag_seconds')).toBeLessThanOrEqual((after - oldest) / 1000)
  const onDisk = [cfg.dbFile, `${cfg.dbFile}-wal`].reduce((n, f) => n + statSync(f).size, 0)
  expect(m('floxgate_buffer_bytes')).toBe(onDisk)
  expect(m('floxgate_store_commit_seconds_count')).toBeGreaterThan(0)
  expect(m('floxgate_store_commit_seconds_sum')).toBeGreaterThan(0)

  // The upstream is back: every outbox row acknowledged once, and counted once.
  await upstream.start()
  await waitFor(async () => (await scrape(cfg))('floxgate_buffer_rows') === 0, {
    timeoutMs: 20_000,
    what: 'the outbox forwarded',
  })
  await waitFor(() => received.size === outbox, { what: `${outbox} messages upstream` })
  const end = await scrape(cfg)
  expect(end('floxgate_uplink_sent_total')).toBe(outbox)
  expect(end('floxgate_uplink_backlog_rows')).toBe(0)
  expect(end('floxgate_uplink_lag_seconds')).toBe(0)
  expectBalanced(end)
})

it('a reload that changes the window size keeps both aggregates of the window start they share, and counts no reading twice', async () => {
  const cfg = await writeTestConfig({
    log: { level: 'info' },
    http: { enabled: true },
    aggregates: { windowSeconds: 60, graceSeconds: 3600 },
  })
  configs.push(cfg)
  const daemon = await startDaemon(cfg.file)
  const sensor = await connectClient(cfg.brokerPort)
  closers.push(() => sensor.close())
  const t0 = Math.floor(Date.now() / 120_000) * 120_000 - 360_000
  const send = async (pairs: [number, number][]) => {
    for (const [dt, v] of pairs) {
      await sensor.client.publishAsync(
        'sensors/w/telemetry',
        telemetry({ temperature: v }, t0 + dt),
        {
          qos: 1,
        },
      )
    }
  }
  await send([
    [1000, 10],
    [2000, 20],
  ])
  cfg.rewrite({ aggregates: { windowSeconds: 120, graceSeconds: 3600 } })
  daemon.child.kill('SIGHUP')
  await daemon.waitForLog(/^config reloaded/)
  // [t0, t0+60 s) was closed by the reload; [t0, t0+120 s) starts where it started.
  await send([
    [70_000, 30],
    [80_000, 40],
    [130_000, 50], // closes [t0, t0+120 s)
  ])
  const rows = await waitFor(
    () => {
      const db = new Database(cfg.dbFile, { readonly: true })
      try {
        const r = db
          .prepare(
            'SELECT window_start, window_end, count, min, max FROM aggregates ORDER BY window_end',
          )
          .all()
        return r.length === 2 ? r : undefined
      } finally {
        db.close()
      }
    },
    { what: 'two aggregates' },
  )
  expect(rows).toEqual([
    { window_start: t0, window_end: t0 + 60_000, count: 2, min: 10, max: 20 },
    { window_start: t0, window_end: t0 + 120_000, count: 2, min: 30, max: 40 },
  ])
  const m = await scrape(cfg)
  expect(m('floxgate_readings_duplicate_total')).toBe(0)
  expect(m('floxgate_readings_stored_total')).toBe(5)
  expectBalanced(m)
})
