/**
 * Shared parts of the daemon's end-to-end tests: a temp config file with free ports, the
 * gateway started in-process, a second (read-only) SQLite connection on its database, and
 * MQTT clients that record what they receive.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { pino } from 'pino'
import { afterAll, beforeAll } from 'vitest'
import { stringify } from 'yaml'
import { loadConfig } from '../../src/config/load.js'
import { Gateway } from '../../src/daemon/gateway.js'
import { GatewayMetrics } from '../../src/ops/metrics.js'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

type Plain = Record<string, unknown>

/** Objects merge key by key; arrays and values replace. */
function merge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base }
  for (const [k, v] of Object.entries(over)) {
    const b = out[k]
    out[k] = isPlain(b) && isPlain(v) ? merge(b, v) : v
  }
  return out
}

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export interface TestConfig {
  readonly dir: string
  readonly file: string
  readonly brokerPort: number
  readonly httpPort: number
  readonly dbFile: string
  /** The config as written, so a test can change it and write it again. */
  readonly values: Plain
  /** Rewrites the file with `over` merged into the original values. */
  rewrite(over: Plain): void
  cleanup(): void
}

/**
 * A config in a fresh temp folder: embedded broker and HTTP on free loopback ports, the
 * database in the folder, fast commits, no watchdog, logs silent unless overridden.
 */
export async function writeTestConfig(over: Plain = {}): Promise<TestConfig> {
  const { dir, cleanup } = tempDir('floxgate-daemon-')
  const brokerPort = await freePort()
  const httpPort = await freePort()
  const base: Plain = {
    gateway: { id: 'gw-test', dataDir: dir },
    log: { level: 'silent' },
    broker: { mode: 'embedded', embedded: { host: '127.0.0.1', port: brokerPort } },
    store: { batch: { maxRows: 100, maxDelayMs: 10, qos0DelayMs: 10 } },
    http: { enabled: false, host: '127.0.0.1', port: httpPort },
    watchdog: { enabled: false },
    rules: [],
  }
  const values = merge(base, over)
  const file = join(dir, 'floxgate.yaml')
  writeFileSync(file, stringify(values))
  return {
    dir,
    file,
    brokerPort,
    httpPort,
    dbFile: join(dir, 'floxgate.db'),
    values,
    rewrite: (o) => writeFileSync(file, stringify(merge(values, o))),
    cleanup,
  }
}

export interface LogLine {
  readonly level: number
  readonly msg: string
  readonly [key: string]: unknown
}

export interface RunningGateway {
  readonly gateway: Gateway
  readonly metrics: GatewayMetrics
  readonly port: number
  readonly db: StoreReader
  /** Every log record the gateway wrote (pino JSON, parsed). */
  readonly logs: LogLine[]
  stop(): Promise<void>
}

/** `Gateway.start(loadConfig(file))`, logging into memory. */
export async function startGateway(file: string): Promise<RunningGateway> {
  const config = loadConfig(file)
  const logs: LogLine[] = []
  const logger = pino(
    { level: 'debug' },
    { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) },
  )
  const metrics = new GatewayMetrics({ defaultMetrics: false })
  const gateway = await Gateway.start(config, { logger, metrics })
  const db = openReader(config.store.file)
  let stopped = false
  return {
    gateway,
    metrics,
    port: gateway.broker.ports.tcp ?? config.broker.embedded.port,
    db,
    logs,
    stop: async () => {
      if (stopped) return
      stopped = true
      db.close()
      await gateway.stop()
      metrics.close()
    },
  }
}

export interface StoredReading {
  readonly device: string
  readonly metric: string
  readonly ts: number
  readonly value: number
}

export interface StoredDeadLetter {
  readonly topic: string
  readonly reason: string
  readonly detail: string
  readonly device: string | null
  readonly payload: Buffer
}

export interface StoredAlert {
  readonly device: string
  readonly metric: string | null
  readonly rule: string
  readonly state: string
  readonly value: number | null
}

export interface StoredAggregate {
  readonly device: string
  readonly metric: string
  readonly count: number
  readonly min: number
  readonly max: number
  readonly mean: number
  readonly last: number
}

/** A second connection on the gateway's database: what is really committed. */
export interface StoreReader {
  readings(device?: string): StoredReading[]
  deadLetters(): StoredDeadLetter[]
  alerts(): StoredAlert[]
  aggregates(device?: string): StoredAggregate[]
  close(): void
}

export function openReader(file: string): StoreReader {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  const readings = db.prepare<[{ device: string }], StoredReading>(
    `SELECT s.device, s.metric, r.ts, r.value FROM readings r JOIN series s ON s.id = r.series
     WHERE (@device = '' OR s.device = @device) ORDER BY r.ts, s.metric`,
  )
  const aggregates = db.prepare<[{ device: string }], StoredAggregate>(
    `SELECT s.device, s.metric, a.count, a.min, a.max, a.mean, a.last
     FROM aggregates a JOIN series s ON s.id = a.series
     WHERE (@device = '' OR s.device = @device) ORDER BY a.window_start`,
  )
  return {
    readings: (device = '') => readings.all({ device }),
    deadLetters: () =>
      db
        .prepare<[], StoredDeadLetter>(
          'SELECT topic, reason, detail, device, payload FROM dead_letters ORDER BY id',
        )
        .all(),
    alerts: () =>
      db
        .prepare<[], StoredAlert>(
          'SELECT device, metric, rule, state, value FROM alert_events ORDER BY id',
        )
        .all(),
    aggregates: (device = '') => aggregates.all({ device }),
    close: () => db.close(),
  }
}

export interface Received {
  readonly topic: string
  readonly payload: string
  readonly retain: boolean
}

/** An MQTT client on 127.0.0.1 that records every message it receives. */
export interface RecordingClient {
  readonly client: MqttClient
  readonly received: Received[]
  /** Parsed JSON payloads of messages on topics starting with `prefix`. */
  json<T = Record<string, unknown>>(prefix: string): T[]
  close(): Promise<void>
}

export async function connectClient(
  port: number,
  opts: IClientOptions = {},
): Promise<RecordingClient> {
  const client = await mqtt.connectAsync({
    host: '127.0.0.1',
    port,
    // aedes speaks MQTT 3.1.1.
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...opts,
  })
  const received: Received[] = []
  client.on('message', (topic, payload, packet) => {
    received.push({ topic, payload: payload.toString(), retain: packet.retain })
  })
  return {
    client,
    received,
    json: <T>(prefix: string) =>
      received.filter((m) => m.topic.startsWith(prefix)).map((m) => JSON.parse(m.payload) as T),
    close: () => client.endAsync(true).catch(() => {}),
  }
}

/** One JSON telemetry payload; `ts` in ms so consecutive readings never share a key. */
export function telemetry(fields: Record<string, number>, ts: number): string {
  return JSON.stringify({ ...fields, ts })
}

/** Waits until the database holds `n` readings of `device`, then returns them. */
export function waitForReadings(
  db: StoreReader,
  device: string,
  n: number,
  timeoutMs = 10_000,
): Promise<StoredReading[]> {
  return waitFor(
    () => {
      const rows = db.readings(device)
      return rows.length >= n ? rows : undefined
    },
    { timeoutMs, what: `${n} readings of ${device} in SQLite` },
  )
}

/** Alert payloads as the gateway publishes them. */
export interface AlertMessage {
  readonly gateway: string
  readonly device: string
  readonly metric: string | null
  readonly rule: string
  readonly state: 'raised' | 'cleared'
  readonly severity: string
  readonly value: number | null
  readonly threshold: number | null
}

/**
 * Publishes one temperature reading per value, QoS 1, one after the other, with sensor
 * timestamps `t0 + i * stepMs` (sensor time drives durations and rates, so a minute of
 * signal takes milliseconds). Each publish resolves after its rows are committed.
 */
export async function publishSeries(
  client: MqttClient,
  device: string,
  values: readonly number[],
  t0: number,
  stepMs: number,
): Promise<void> {
  for (const [i, v] of values.entries()) {
    await client.publishAsync(
      `sensors/${device}/telemetry`,
      telemetry({ temperature: v }, t0 + i * stepMs),
      { qos: 1 },
    )
  }
}

/** Subscribes and waits for the SUBACK. */
export async function subscribed(
  port: number,
  filter: string,
  opts: IClientOptions = {},
): Promise<RecordingClient> {
  const c = await connectClient(port, opts)
  await c.client.subscribeAsync(filter, { qos: 1 })
  return c
}

/** A running gateway with a sensor client and a watcher, for one test file. */
export interface Scene {
  cfg: TestConfig
  gw: RunningGateway
  sensor: RecordingClient
  watcher: RecordingClient
}

export interface SceneOptions {
  /** What the watcher subscribes to (default `floxgate/alerts/#`). */
  readonly watch?: string
  /** Connect options of the sensor and the watcher (credentials where users are set). */
  readonly sensor?: IClientOptions
  readonly watcher?: IClientOptions
}

/**
 * Registers this file's (or describe block's) beforeAll/afterAll: a gateway started from
 * `over` (or what it resolves to, for configs that need an await such as password
 * hashes), a sensor client and a watcher subscribed to `watch`. The fields are set once
 * beforeAll ran.
 */
export function useScene(
  over: Plain | (() => Promise<Plain>),
  opts: SceneOptions | string = {},
): Scene {
  const o: SceneOptions = typeof opts === 'string' ? { watch: opts } : opts
  const scene = {} as Scene
  beforeAll(async () => {
    scene.cfg = await writeTestConfig(typeof over === 'function' ? await over() : over)
    scene.gw = await startGateway(scene.cfg.file)
    scene.sensor = await connectClient(scene.gw.port, o.sensor)
    scene.watcher = await subscribed(scene.gw.port, o.watch ?? 'floxgate/alerts/#', o.watcher)
  })
  afterAll(async () => {
    await scene.sensor?.close()
    await scene.watcher?.close()
    await scene.gw?.stop()
    scene.cfg?.cleanup()
  })
  return scene
}
