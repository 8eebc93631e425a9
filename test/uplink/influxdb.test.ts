/**
 * `kind: influxdb` against a real InfluxDB 1.6 (Debian's `influxd`, a child process on free
 * ports): what the daemon writes and how it reads back, an outage under load, and a batch
 * InfluxDB refuses for good.
 */
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import type { OutboxRow } from '../../src/store/outbox.js'
import { Forwarder, Outbox } from '../../src/uplink/index.js'
import { InfluxTarget } from '../../src/uplink/influxdb-target.js'
import {
  connectClient,
  type RunningGateway,
  startGateway,
  type TestConfig,
  writeTestConfig,
} from '../daemon/harness.js'
import { type InfluxDB, rowsOf, startInfluxDB } from '../helpers/influxdb.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import { influxProxy, parseLine } from './influx-proxy.js'
import { openOutboxDb, outboxCount } from './outbox-db.js'
import { checkSequence } from './upstream.js'

let influx: InfluxDB
let dbNo = 0
const cleanups: (() => Promise<void> | void)[] = []

beforeAll(async () => {
  influx = await startInfluxDB()
}, 60_000)
afterAll(async () => {
  await influx?.close()
})
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A fresh database on the shared server. */
async function freshDatabase(): Promise<string> {
  const name = `floxgate_${process.pid}_${++dbNo}`
  await influx.query(`CREATE DATABASE "${name}"`)
  return name
}

async function gatewayWith(
  database: string,
  over: Record<string, unknown> = {},
): Promise<{
  cfg: TestConfig
  gw: RunningGateway
}> {
  const cfg = await writeTestConfig({
    devices: [{ id: 'gh-1', profile: 'dht22', location: 'greenhouse' }],
    rules: [{ id: 'too-hot', metric: 'temperature', high: 28, severity: 'warning' }],
    aggregates: { windowSeconds: 1, graceSeconds: 0 },
    uplinks: [
      {
        id: 'tsdb',
        kind: 'influxdb',
        url: influx.url,
        database,
        streams: ['readings', 'aggregates', 'alerts'],
        batchDelayMs: 50,
        maxReplayPerSecond: 0,
      },
    ],
    ...over,
  })
  cleanups.push(() => cfg.cleanup())
  const gw = await startGateway(cfg.file)
  cleanups.push(() => gw.stop())
  return { cfg, gw }
}

it('readings, aggregates and alerts arrive as the documented measurements and tags', async () => {
  const database = await freshDatabase()
  const { gw } = await gatewayWith(database)
  const sensor = await connectClient(gw.port)
  cleanups.push(() => sensor.close())
  // Two readings in one 1 s window ahead of the clock, the second too hot (rule high: 28).
  const t0 = Math.ceil(Date.now() / 1000) * 1000 + 1000
  for (const [i, [temperature, humidity]] of [
    [21.5, 48],
    [29.25, 47],
  ].entries()) {
    await sensor.client.publishAsync(
      'sensors/gh-1/telemetry',
      JSON.stringify({ temperature, humidity, ts: t0 + i * 100 }),
      { qos: 1 },
    )
  }

  const tags = { device: 'gh-1', gateway: 'gw-test', location: 'greenhouse', profile: 'dht22' }
  const temperature = await waitFor(
    async () => {
      const r = rowsOf(await influx.query('SELECT * FROM temperature', database))
      return r.length === 2 ? r : undefined
    },
    { timeoutMs: 20_000, what: 'two temperature points' },
  )
  expect(temperature).toEqual([
    { _measurement: 'temperature', time: t0, value: 21.5, ...tags },
    { _measurement: 'temperature', time: t0 + 100, value: 29.25, ...tags },
  ])
  const humidity = rowsOf(await influx.query('SELECT * FROM humidity', database))
  expect(humidity.map((r) => [r.time, r.value, r.location, r.profile])).toEqual([
    [t0, 48, 'greenhouse', 'dht22'],
    [t0 + 100, 47, 'greenhouse', 'dht22'],
  ])

  const alert = await waitFor(
    async () => rowsOf(await influx.query('SELECT * FROM alerts', database))[0],
    { timeoutMs: 20_000, what: 'the alert point' },
  )
  expect(alert).toMatchObject({
    ...tags,
    time: t0 + 100,
    metric: 'temperature',
    rule: 'too-hot',
    kind: 'high',
    severity: 'warning',
    state: 'raised',
    active: true,
    value: 29.25,
    threshold: 28,
  })

  // The window closes on the gateway's clock a second or two later.
  const aggregates = await waitFor(
    async () => {
      const r = rowsOf(await influx.query('SELECT * FROM aggregates', database))
      return r.length === 2 ? r : undefined
    },
    { timeoutMs: 20_000, what: 'the two aggregates (temperature, humidity)' },
  )
  const byMetric = Object.fromEntries(aggregates.map((a) => [a.metric, a]))
  expect(byMetric.temperature).toMatchObject({
    ...tags,
    time: t0,
    count: 2,
    min: 21.5,
    max: 29.25,
    mean: 25.375,
    last: 29.25,
    window_end: t0 + 1000,
  })
  expect(byMetric.humidity).toMatchObject({ count: 2, min: 47, max: 48, mean: 47.5, last: 47 })
  // Every field kept its type: the integers are integers (a float would conflict later).
  const fieldTypes = rowsOf(await influx.query('SHOW FIELD KEYS FROM aggregates', database))
  expect(Object.fromEntries(fieldTypes.map((f) => [f.fieldKey, f.fieldType]))).toEqual({
    count: 'integer',
    last: 'float',
    max: 'float',
    mean: 'float',
    min: 'float',
    window_end: 'integer',
  })

  const f = gw.gateway.forwarders[0]!
  await waitFor(() => f.stats().backlogRows === 0, { what: 'the uplink queue drained' })
  expect(f.stats()).toMatchObject({ kind: 'influxdb', rejected: 0, connected: true })
}, 90_000)

it('a batch InfluxDB refuses (field type conflict) becomes dead letters with its message, once', async () => {
  const database = await freshDatabase()
  // `temperature.value` is a string in this shard: the gateway's floats conflict with it.
  const res = await fetch(`${influx.url}/write?db=${database}&precision=ms`, {
    method: 'POST',
    body: `temperature,device=other value="broken" ${Date.now()}\n`,
  })
  expect(res.status).toBe(204)
  const { gw } = await gatewayWith(database, { rules: [] })
  const sensor = await connectClient(gw.port)
  cleanups.push(() => sensor.close())
  const t0 = Date.now()
  for (let i = 0; i < 3; i++) {
    await sensor.client.publishAsync(
      'sensors/gh-1/telemetry',
      JSON.stringify({ temperature: 20 + i, ts: t0 + i }),
      { qos: 1 },
    )
  }
  const dead = await waitFor(
    () => {
      const d = gw.db.deadLetters().filter((x) => x.reason === 'upstream-rejected')
      return d.length === 3 ? d : undefined
    },
    { timeoutMs: 20_000, what: 'three dead letters' },
  )
  for (const d of dead) {
    expect(d.detail).toMatch(/^uplink tsdb \(influxdb\) refused it: InfluxDB answered 400: /)
    expect(d.detail).toMatch(/field type conflict/)
    expect(d.topic).toBe('readings/gh-1/temperature')
  }
  // The dead letter keeps the row as the uplink had it.
  expect(dead.map((d) => JSON.parse(d.payload.toString()).value)).toEqual([20, 21, 22])

  // Not retried: what follows gets through, and nothing is sent again.
  const f = gw.gateway.forwarders[0]!
  await sensor.client.publishAsync(
    'sensors/gh-1/telemetry',
    JSON.stringify({ humidity: 55, ts: t0 + 10 }),
    { qos: 1 },
  )
  await waitFor(
    async () => rowsOf(await influx.query('SELECT * FROM humidity', database)).length === 1,
    { timeoutMs: 20_000, what: 'the humidity point after the refused batch' },
  )
  await waitFor(() => f.stats().backlogRows === 0, { what: 'the queue drained' })
  const s = f.stats()
  expect(s.rejected).toBe(3)
  expect(s.sent).toBe(4)
  expect(s.resent).toBe(0)
  expect(s.lastError).toMatch(/field type conflict/)
  expect(f.health().ok).toBe(true)
  // The metrics count them as what they are: refused rows are dead letters, not sent.
  const text = await gw.metrics.text()
  expect(text).toMatch(/^floxgate_dead_letters_total\{reason="upstream-rejected"\} 3$/m)
  expect(text).toMatch(/^floxgate_uplink_sent_total\{uplink="tsdb"\} 1$/m)
}, 60_000)

it('InfluxDB 1.x options through the daemon: retention policy, one measurement, user and password, no gzip', async () => {
  const database = await freshDatabase()
  await influx.query(`CREATE RETENTION POLICY "week" ON "${database}" DURATION 7d REPLICATION 1`)
  const proxy = await influxProxy(influx.url)
  cleanups.push(() => proxy.close())
  const { gw } = await gatewayWith(database, {
    rules: [],
    uplinks: [
      {
        id: 'tsdb',
        kind: 'influxdb',
        url: proxy.url,
        database,
        retentionPolicy: 'week',
        measurement: 'single',
        measurementName: 'greenhouse',
        username: 'writer',
        password: 's3cret',
        gzip: false,
        streams: ['readings'],
        batchDelayMs: 50,
      },
    ],
  })
  const sensor = await connectClient(gw.port)
  cleanups.push(() => sensor.close())
  const ts = Date.now() - 1000
  await sensor.client.publishAsync(
    'sensors/gh-1/telemetry',
    JSON.stringify({ temperature: 22.5, humidity: 51, ts }),
    { qos: 1 },
  )
  // One point with a field per metric, in the retention policy, not the default one.
  const rows = await waitFor(
    async () => {
      const r = rowsOf(await influx.query(`SELECT * FROM "${database}"."week"."greenhouse"`))
      return r.length === 1 ? r : undefined
    },
    { timeoutMs: 20_000, what: 'the point in the week retention policy' },
  )
  expect(rows[0]).toMatchObject({ time: ts, temperature: 22.5, humidity: 51, device: 'gh-1' })
  expect(rowsOf(await influx.query('SELECT * FROM "greenhouse"', database))).toEqual([])
  const w = proxy.writes[0]!
  expect(Object.fromEntries(new URL(w.path, 'http://x').searchParams)).toEqual({
    db: database,
    rp: 'week',
    precision: 'ms',
  })
  expect(w.headers.authorization).toBe(`Basic ${Buffer.from('writer:s3cret').toString('base64')}`)
  expect(w.headers['content-encoding']).toBeUndefined()
}, 60_000)

/** A reading row as the store writes it (src/nodes/output.ts). */
function readingPayload(device: string, metric: string, value: number, ts: number): string {
  return `{"device":"${device}","metric":"${metric}","value":${value},"ts":${ts}}`
}

const OUTAGE_MS = Number(process.env.FLOXGATE_INFLUX_OUTAGE_MS ?? 10_000)

it(`InfluxDB stopped for ${OUTAGE_MS / 1000} s under load: every point arrives once, in order per device`, async () => {
  const database = await freshDatabase()
  const proxy = await influxProxy(influx.url)
  cleanups.push(() => proxy.close())
  const { dir, cleanup } = tempDir('floxgate-influx-outage-')
  const db = openOutboxDb(join(dir, 'gw.db'))
  cleanups.push(cleanup, () => {
    db.close()
  })
  const batch = 500
  const target = new InfluxTarget({
    url: proxy.url,
    database,
    measurement: 'per-metric',
    measurementName: 'floxgate',
    batchRows: batch,
    batchDelayMs: 100,
    gateway: 'gw-outage',
    tags: () => ({}),
    timeoutMs: 5000,
  })
  const f = new Forwarder(new Outbox(db), {
    target,
    gatewayId: 'gw-outage',
    version: 'test',
    inflight: batch,
    maxReplayPerSecond: 0,
    reconnectInitialMs: 100,
    reconnectMaxMs: 2000,
    pollIntervalMs: 200,
  })
  cleanups.push(() => f.stop())
  f.start()

  // 4 devices, 40 rows every 40 ms (about 1,000 rows/s) until the outage is over.
  const devices = 4
  const t0 = Date.now() - 60_000
  const insert = db.prepare(
    'INSERT INTO outbox (stream, topic, payload, created_at) VALUES (?, ?, ?, ?)',
  )
  let seq = 0
  let producing = true
  const produce = db.transaction((k: number) => {
    for (let i = 0; i < k; i++, seq++) {
      const device = `dev${seq % devices}`
      // value = the row's number for its device: the order check reads it back.
      const value = Math.floor(seq / devices)
      insert.run(
        'readings',
        `readings/${device}/temperature`,
        readingPayload(device, 'temperature', value, t0 + seq),
        Date.now(),
      )
    }
  })
  const producer = setInterval(() => {
    if (!producing) return
    produce(40)
    f.notify()
  }, 40)
  cleanups.push(() => clearInterval(producer))

  await waitFor(() => f.stats().acked >= 2000, { timeoutMs: 30_000, what: 'rows flowing' })
  await influx.stop()
  const downAt = Date.now()
  const atStop = seq
  await waitFor(() => !f.stats().connected, { timeoutMs: 20_000, what: 'the forwarder sees it' })
  await waitFor(() => Date.now() - downAt >= OUTAGE_MS, {
    timeoutMs: OUTAGE_MS + 5000,
    intervalMs: 200,
    what: 'the outage',
  })
  const during = f.stats()
  expect(during.connected).toBe(false)
  // The backlog piled up on disk, not in memory.
  expect(during.backlogRows).toBeGreaterThanOrEqual(seq - atStop)
  expect(f.health().reason ?? '').toMatch(/unreachable|connecting|ECONNRESET|socket/i)
  await influx.start()
  // Load continues for a while after the restart, then stops.
  await waitFor(() => f.stats().connected, { timeoutMs: 30_000, what: 'reconnected' })
  const more = seq + 2000
  await waitFor(() => seq >= more, { timeoutMs: 30_000, what: 'more rows after the restart' })
  producing = false
  const total = seq
  await waitFor(() => outboxCount(db) === 0, { timeoutMs: 60_000, what: 'the outbox drained' })

  // Every point is in InfluxDB once (a point is keyed by series and time: a batch sent
  // again overwrites itself, so the count is the count of distinct points).
  const counts = rowsOf(
    await influx.query('SELECT count(value) FROM temperature GROUP BY device', database),
  )
  expect(Object.fromEntries(counts.map((c) => [c.device, c.count]))).toEqual(
    Object.fromEntries(
      Array.from({ length: devices }, (_, d) => [
        `dev${d}`,
        Math.floor(total / devices) + (d < total % devices ? 1 : 0),
      ]),
    ),
  )
  const sums = rowsOf(
    await influx.query('SELECT sum(value) FROM temperature GROUP BY device', database),
  )
  for (const s of sums) {
    const n = Number(counts.find((c) => c.device === s.device)?.count)
    expect(s.sum).toBe((n * (n - 1)) / 2) // values 0..n-1, each once
  }

  // In the order InfluxDB received them: per device, first appearances 0, 1, 2, ... with
  // no gap; repeats are whole batches sent again after a write whose answer was lost.
  const perDevice = new Map<string, number[]>()
  for (const w of proxy.writes) {
    for (const line of w.lines) {
      const p = parseLine(line)
      const list = perDevice.get(p.tags.device ?? '') ?? []
      list.push(Number(p.fields.value))
      perDevice.set(p.tags.device ?? '', list)
    }
  }
  expect([...perDevice.keys()].sort()).toEqual(['dev0', 'dev1', 'dev2', 'dev3'])
  for (const [, values] of perDevice) {
    const check = checkSequence(values)
    expect(check.gaps).toEqual([])
  }
  const s = f.stats()
  expect(s.reconnects).toBeGreaterThanOrEqual(1)
  expect(s.rejected).toBe(0)
  expect(s.resent).toBeLessThanOrEqual(batch * s.reconnects)
  // A write failed while InfluxDB was down (the proxy could not reach it: status 0; or
  // InfluxDB answered an error while shutting down: a 5xx), and the outage was seen by it.
  expect(proxy.writes.some((w) => w.status !== 204)).toBe(true)
}, 180_000)

it('InfluxDB 2.x: /api/v2/write with org, bucket, ms precision, the token, gzip; 4xx refused, 5xx retried', async () => {
  // Debian has no InfluxDB 2.x: a local HTTP server checks the request shape of its API.
  const { createServer } = await import('node:http')
  const { gunzipSync } = await import('node:zlib')
  const seen: { method: string; url: string; headers: Record<string, unknown>; body: string }[] = []
  const answers: [number, string][] = [
    [503, '{"code":"unavailable","message":"busy"}'],
    [204, ''],
    [400, '{"code":"invalid","message":"unable to parse \'x\': bad timestamp"}'],
  ]
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: raw.length === 0 ? '' : gunzipSync(raw).toString(),
      })
      if (req.url === '/ping') {
        res.writeHead(204).end()
        return
      }
      const [status, body] = answers.shift() ?? [204, '']
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(body)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())))
  const port = (server.address() as { port: number }).port
  const target = new InfluxTarget({
    url: `http://127.0.0.1:${port}/`,
    org: 'acme',
    bucket: 'sensors',
    token: 'tok-123',
    measurement: 'single',
    measurementName: 'floxgate',
    batchRows: 2,
    batchDelayMs: 0,
    gateway: 'gw-2',
    tags: (d) => (d === 'a' ? { location: 'attic', profile: 'dht22' } : {}),
  })
  const { dir, cleanup } = tempDir('floxgate-influx2-')
  const db = openOutboxDb(join(dir, 'gw.db'))
  cleanups.push(cleanup, () => {
    db.close()
  })
  const rejected: { rows: readonly OutboxRow[]; reason: string }[] = []
  const f = new Forwarder(new Outbox(db), {
    target,
    gatewayId: 'gw-2',
    version: 'test',
    inflight: 2,
    maxReplayPerSecond: 0,
    reconnectInitialMs: 20,
    reconnectMaxMs: 50,
    onRejected: (rows, reason, done) => {
      rejected.push({ rows, reason })
      done(null)
    },
  })
  cleanups.push(() => f.stop())
  const insert = db.prepare(
    'INSERT INTO outbox (stream, topic, payload, created_at) VALUES (?, ?, ?, ?)',
  )
  insert.run(
    'readings',
    'readings/a/temperature',
    readingPayload('a', 'temperature', 21.5, 1000),
    Date.now(),
  )
  insert.run(
    'readings',
    'readings/b/humidity',
    readingPayload('b', 'humidity', 40, 1001),
    Date.now(),
  )
  insert.run(
    'readings',
    'readings/a/humidity',
    readingPayload('a', 'humidity', 41, 1002),
    Date.now(),
  )
  f.start()
  await waitFor(() => outboxCount(db) === 0, { what: 'the outbox drained' })

  const writes = seen.filter((s) => s.method === 'POST')
  // 503, then the same batch again (204), then the last row (400: refused, not retried).
  expect(writes.map((w) => w.body)).toEqual([
    'floxgate,device=a,gateway=gw-2,location=attic,profile=dht22 temperature=21.5 1000\nfloxgate,device=b,gateway=gw-2 humidity=40 1001\n',
    'floxgate,device=a,gateway=gw-2,location=attic,profile=dht22 temperature=21.5 1000\nfloxgate,device=b,gateway=gw-2 humidity=40 1001\n',
    'floxgate,device=a,gateway=gw-2,location=attic,profile=dht22 humidity=41 1002\n',
  ])
  for (const w of writes) {
    const u = new URL(w.url, 'http://x')
    expect(u.pathname).toBe('/api/v2/write')
    expect(Object.fromEntries(u.searchParams)).toEqual({
      org: 'acme',
      bucket: 'sensors',
      precision: 'ms',
    })
    expect(w.headers.authorization).toBe('Token tok-123')
    expect(w.headers['content-encoding']).toBe('gzip')
    expect(w.headers['content-type']).toBe('text/plain; charset=utf-8')
  }
  // The session check carries the token too (a 2.x /ping needs none, but a proxy might).
  expect(seen.find((s) => s.url === '/ping')?.headers.authorization).toBe('Token tok-123')
  expect(rejected).toHaveLength(1)
  expect(rejected[0]!.rows.map((r) => r.topic)).toEqual(['readings/a/humidity'])
  expect(rejected[0]!.reason).toBe("InfluxDB answered 400: unable to parse 'x': bad timestamp")
  expect(f.stats()).toMatchObject({ rejected: 1, acked: 3, reconnects: 1 })
})

it('one write request at a time: a batch handed over early waits for the answer before it', async () => {
  const { createServer } = await import('node:http')
  let open = 0
  let most = 0
  const order: string[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.url === '/ping') {
        res.writeHead(204).end()
        return
      }
      open++
      most = Math.max(most, open)
      order.push(Buffer.concat(chunks).toString().split(' ')[2]?.trim() ?? '')
      // The first answer is slow: a second request sent meanwhile would overtake it.
      setTimeout(
        () => {
          open--
          res.writeHead(204).end()
        },
        order.length === 1 ? 300 : 0,
      )
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())))
  const port = (server.address() as { port: number }).port
  const target = new InfluxTarget({
    url: `http://127.0.0.1:${port}`,
    database: 'x',
    measurement: 'per-metric',
    measurementName: 'floxgate',
    gzip: false,
    gateway: 'gw',
    tags: () => ({}),
  })
  await new Promise<void>((up, down) => target.open({ up, down, error: () => {} }))
  const row = (id: number): OutboxRow => ({
    id,
    stream: 'readings',
    topic: 'readings/a/temperature',
    payload: Buffer.from(readingPayload('a', 'temperature', id, 1000 + id)),
    createdAt: Date.now(),
  })
  const answers = await Promise.all(
    [1, 2, 3].map((id) => new Promise((r) => target.send([row(id)], r))),
  )
  expect(answers).toEqual([{ kind: 'delivered' }, { kind: 'delivered' }, { kind: 'delivered' }])
  expect(most).toBe(1)
  expect(order).toEqual(['1001', '1002', '1003'])
})

it('batches by size and by time, whole batches at the default pacing (2,000 rows/s)', async () => {
  const { createServer } = await import('node:http')
  const { gunzipSync } = await import('node:zlib')
  const requests: number[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.url !== '/ping') {
        const body = gunzipSync(Buffer.concat(chunks)).toString()
        requests.push(body.split('\n').filter((l) => l !== '').length)
      }
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())))
  const port = (server.address() as { port: number }).port
  const { dir, cleanup } = tempDir('floxgate-influx-batch-')
  cleanups.push(cleanup)

  const run = async (name: string, batchDelayMs: number) => {
    const db = openOutboxDb(join(dir, `${name}.db`))
    cleanups.push(() => {
      db.close()
    })
    const target = new InfluxTarget({
      url: `http://127.0.0.1:${port}`,
      database: 'x',
      measurement: 'per-metric',
      measurementName: 'floxgate',
      batchRows: 500,
      batchDelayMs,
      gateway: 'gw',
      tags: () => ({}),
    })
    // As src/daemon/uplink-setup.ts builds it: one batch in flight, the default pacing.
    const f = new Forwarder(new Outbox(db), {
      target,
      gatewayId: 'gw',
      version: 'test',
      inflight: 500,
      pollIntervalMs: 100,
    })
    cleanups.push(() => f.stop())
    const insert = db.prepare(
      'INSERT INTO outbox (stream, topic, payload, created_at) VALUES (?, ?, ?, ?)',
    )
    let n = 0
    const add = db.transaction((k: number) => {
      for (let i = 0; i < k; i++, n++)
        insert.run(
          'readings',
          'readings/a/temperature',
          readingPayload('a', 'temperature', n, 1000 + n),
          Date.now(),
        )
    })
    return { f, db, add }
  }

  // Size: a backlog of 1,200 rows goes as two full batches; the 200 left wait for more
  // (their delay is a minute), and 300 more make the third full batch.
  const sized = await run('size', 60_000)
  sized.add(1200)
  sized.f.start()
  await waitFor(() => requests.length === 2, { what: 'two full batches' })
  sized.add(300)
  sized.f.notify()
  await waitFor(() => requests.length === 3, { what: 'the third batch' })
  expect(requests).toEqual([500, 500, 500])
  // (the server counts a request before the forwarder has its answer)
  await waitFor(() => outboxCount(sized.db) === 0, { what: 'the three batches deleted' })
  expect(sized.f.stats()).toMatchObject({ sent: 1500, acked: 1500, resent: 0 })
  await sized.f.stop()

  // Time: three rows and nothing more go as one request once the first is 200 ms old.
  const timed = await run('time', 200)
  timed.add(3)
  timed.f.start()
  await waitFor(() => requests.length === 4, { what: 'the small batch' })
  expect(requests.at(-1)).toBe(3)
  await waitFor(() => outboxCount(timed.db) === 0, { what: 'the small batch deleted' })
})
