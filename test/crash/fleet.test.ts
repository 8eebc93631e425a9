/**
 * A small fleet: ten gateway processes (distinct gateway.id, each with its own sensors on
 * its embedded broker) forward readings, alerts and aggregates to one upstream Mosquitto,
 * which is stopped for 30 s while the sensors keep sending, then started again. Upstream,
 * every forwarded message arrives under its own gateway's topic prefix, in order per
 * gateway and stream (first appearances; a resend after the reconnect may repeat a few),
 * and Mosquitto's log shows each gateway's own client id and no session taken over.
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import {
  type DaemonProcess,
  ensureBuilt,
  killAllDaemons,
  metric,
  startDaemon,
  writeConfig,
} from './daemon-process.js'
import { SensorFleet } from './sensor-fleet.js'

const GATEWAYS = 10
const DEVICES = 2
const PER_DEVICE = 1000
/** Readings per second per gateway: 50 s of sensor traffic, longer than the outage. */
const RATE = 40
const STEP_MS = 100
const OUTAGE_MS = 30_000
const INFLIGHT = 32
/** The fleet's sensor values cycle 20.0 ... 24.9 every 50 readings (sensor-fleet.ts). */
const RULE = { id: 'warm', metric: 'temperature', high: 24.5 }

const tmp = tempDir('floxgate-crash-fleet-')
let upstream: Mosquitto | undefined
let consumer: MqttClient | undefined

beforeAll(() => ensureBuilt())
afterAll(async () => {
  await killAllDaemons()
  await consumer?.endAsync(true)
  await upstream?.close()
  tmp.cleanup()
})

interface Arrival {
  readonly topic: string
  readonly body: Record<string, unknown>
}

it('ten gateways to one upstream Mosquitto stopped for 30 s under load: every message arrives, in order per gateway and stream, under its own prefix, no client id taken over', async () => {
  upstream = await startMosquitto({ extraConfig: ['log_type notice'] })
  const arrivals: Arrival[] = []
  consumer = await mqtt.connectAsync(upstream.url, {
    clientId: 'fleet-central',
    clean: false,
    reconnectPeriod: 100,
  })
  consumer.on('message', (topic, payload) => {
    arrivals.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown> })
  })
  await consumer.subscribeAsync(['+/readings/#', '+/alerts/#', '+/aggregates/#'], { qos: 1 })

  const baseTs = Date.now() - 3_600_000
  const gateways: { id: string; httpPort: number; daemon: DaemonProcess; fleet: SensorFleet }[] = []
  for (let g = 0; g < GATEWAYS; g++) {
    const id = `gw-fleet-${g}`
    const port = await freePort()
    const httpPort = await freePort()
    const config = writeConfig(join(tmp.dir, id), {
      gatewayId: id,
      dataDir: join(tmp.dir, id, 'data'),
      port,
      httpPort,
      batchMaxDelayMs: 20,
      // default client id (floxgate-<gateway.id>) and topic prefix ({gateway})
      uplink: {
        url: upstream.url,
        streams: ['readings', 'alerts', 'aggregates'],
        inflight: INFLIGHT,
        maxReplayPerSecond: 0,
      },
      extra: {
        rules: [RULE],
        aggregates: { enabled: true, windowSeconds: 1, graceSeconds: 0 },
      },
    })
    const daemon = await startDaemon(config)
    const fleet = new SensorFleet({
      port,
      devices: DEVICES,
      perDevice: PER_DEVICE,
      prefix: `g${g}-d`,
      baseTs,
      stepMs: STEP_MS,
      window: 4,
      ratePerSecond: RATE,
      deadlineMs: 240_000,
    })
    gateways.push({ id, httpPort, daemon, fleet })
  }
  const running = Promise.all(gateways.map((g) => g.fleet.run()))
  running.catch(() => {})

  const upstreamReadings = (gw: string) =>
    arrivals.filter((a) => a.topic.startsWith(`${gw}/readings/`)).length
  await waitFor(() => gateways.every((g) => upstreamReadings(g.id) >= 100), {
    timeoutMs: 60_000,
    intervalMs: 50,
    what: '100 readings upstream from every gateway',
  })
  await upstream.stop()
  const stoppedAt = Date.now()
  const acksAtStop = gateways.reduce((n, g) => n + g.fleet.acked.size, 0)
  await waitFor(() => Date.now() >= stoppedAt + OUTAGE_MS, {
    timeoutMs: OUTAGE_MS + 5000,
    intervalMs: 500,
    what: 'the 30 s outage',
  })
  // Under load: the sensors kept sending, and the gateways kept it all in their outboxes.
  const acksDuringOutage = gateways.reduce((n, g) => n + g.fleet.acked.size, 0) - acksAtStop
  const backlog = await Promise.all(
    gateways.map((g) => metric(g.httpPort, 'floxgate_uplink_backlog_rows')),
  )
  await upstream.start()
  await running
  await waitFor(
    async () => {
      for (const g of gateways) {
        if ((await metric(g.httpPort, 'floxgate_uplink_backlog_rows')) !== 0) return false
      }
      return true
    },
    { timeoutMs: 90_000, intervalMs: 200, what: 'every outbox empty' },
  )
  for (const g of gateways) expect(await g.daemon.stop()).toBe(0)
  expect(acksDuringOutage).toBeGreaterThan(GATEWAYS * RATE * 10)
  for (const rows of backlog) expect(rows).toBeGreaterThan(RATE * 10)

  // What each gateway stored and forwarded went upstream, once at least, in its order:
  // per gateway, stream and device, the first appearances upstream equal the gateway's
  // own rows (rows still in its outbox were not forwarded: a window the last tick closed).
  let received = 0
  for (const [g, gw] of gateways.entries()) {
    const stored = storedStreams(join(tmp.dir, gw.id, 'data', 'floxgate.db'))
    expect(stored.unsent, `${gw.id} rows never forwarded`).toBeLessThanOrEqual(DEVICES)
    const mine = arrivals.filter((a) => a.topic.startsWith(`${gw.id}/`))
    received += mine.length
    // Only this gateway's devices under its prefix: nothing crossed over.
    expect(mine.every((a) => String(a.body.device).startsWith(`g${g}-d`))).toBe(true)
    for (let d = 0; d < DEVICES; d++) {
      const dev = `g${g}-d${d}`
      const readings = firsts(mine, `${gw.id}/readings/${dev}/`, readingKey)
      expect(readings, `${dev} readings`).toEqual(
        Array.from({ length: PER_DEVICE }, (_, i) => `${baseTs + i * STEP_MS}`),
      )
      expect(readings).toEqual(stored.of(dev, 'readings'))
      const alerts = firsts(mine, `${gw.id}/alerts/${dev}/`, alertKey)
      expect(alerts.length, `${dev} alerts`).toBeGreaterThanOrEqual((PER_DEVICE / 50) * 2 - 1)
      expect(alerts, `${dev} alerts`).toEqual(stored.of(dev, 'alerts'))
      const windows = firsts(mine, `${gw.id}/aggregates/${dev}/`, aggregateKey)
      expect(windows.length, `${dev} windows`).toBeGreaterThan(0)
      expect(windows, `${dev} windows`).toEqual(stored.of(dev, 'aggregates'))
    }
  }
  const total = GATEWAYS * DEVICES * PER_DEVICE
  process.stdout.write(
    `fleet: ${total} readings from ${GATEWAYS} gateways, ${received} messages upstream (readings, alerts, aggregates), ${acksDuringOutage} readings acknowledged during the ${OUTAGE_MS / 1000} s outage, backlog at restart ${Math.min(...backlog)}-${Math.max(...backlog)} rows per gateway\n`,
  )

  // Each gateway's own session: its client id connected (twice: before and after the
  // outage), and Mosquitto never closed one connection for another with the same id.
  const log = upstream.log()
  expect(log).not.toMatch(/already connected, closing old connection/)
  for (const g of gateways) {
    const connects = log.match(new RegExp(` as floxgate-${g.id} `, 'g'))?.length ?? 0
    expect(connects, `connections of floxgate-${g.id}`).toBeGreaterThanOrEqual(2)
  }
}, 300_000)

type KeyOf = (body: Record<string, unknown>) => string
const readingKey: KeyOf = (b) => String(b.ts)
const alertKey: KeyOf = (b) => `${b.rule}:${b.state}@${b.ts}`
const aggregateKey: KeyOf = (b) => `${b.windowStart}:${b.count}:${b.min}:${b.max}`

/**
 * The first appearance of each message on topics under `prefix`, in arrival order, by
 * its key: a resend repeats a key already seen, so this is what arrived, once, in the
 * order it first came.
 */
function firsts(arrivals: readonly Arrival[], prefix: string, key: KeyOf): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const a of arrivals) {
    if (!a.topic.startsWith(prefix)) continue
    const k = key(a.body)
    if (seen.has(k)) continue
    seen.add(k)
    out.push(k)
  }
  return out
}

/**
 * One gateway's database after its stop: per device and stream, the keys of the rows it
 * stored in commit order, without those still waiting in its outbox (`unsent`).
 */
function storedStreams(file: string) {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    const waiting = new Set(
      (
        db.prepare('SELECT topic, payload FROM outbox').all() as {
          topic: string
          payload: Buffer
        }[]
      ).map((r) => `${r.topic} ${r.payload.toString()}`),
    )
    const lists = new Map<string, string[]>()
    const add = (device: string, stream: string, key: string) => {
      const k = `${device}/${stream}`
      lists.set(k, [...(lists.get(k) ?? []), key])
    }
    const rows = (sql: string) => db.prepare(sql).all() as Record<string, unknown>[]
    for (const r of rows(
      'SELECT s.device, r.ts FROM readings r JOIN series s ON s.id = r.series ORDER BY r.ts',
    )) {
      add(String(r.device), 'readings', readingKey(r))
    }
    for (const a of rows('SELECT device, rule, state, ts FROM alert_events ORDER BY id')) {
      add(String(a.device), 'alerts', alertKey(a))
    }
    for (const w of rows(
      `SELECT s.device, a.window_start AS windowStart, a.count, a.min, a.max FROM aggregates a
       JOIN series s ON s.id = a.series ORDER BY a.window_start`,
    )) {
      add(String(w.device), 'aggregates', aggregateKey(w))
    }
    // Rows still in the outbox, by stream and key (aggregates and alerts by their payload).
    const unsentKeys = new Set<string>()
    for (const row of waiting) {
      const [topic = '', ...rest] = row.split(' ')
      const body = JSON.parse(rest.join(' ')) as Record<string, unknown>
      const [stream = '', device = ''] = topic.split('/')
      const key =
        stream === 'aggregates'
          ? aggregateKey(body)
          : stream === 'alerts'
            ? alertKey(body)
            : readingKey(body)
      unsentKeys.add(`${device}/${stream}/${key}`)
    }
    return {
      unsent: waiting.size,
      of: (device: string, stream: string) =>
        (lists.get(`${device}/${stream}`) ?? []).filter(
          (k) => !unsentKeys.has(`${device}/${stream}/${k}`),
        ),
    }
  } finally {
    db.close()
  }
}
