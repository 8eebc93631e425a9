/**
 * The gateway benchmark's floor: a hand-written gateway that does the same job as the
 * bench's floxgate config, with nothing else. Per JSON reading on `sensors/<id>/telemetry`:
 * JSON.parse; an alert published at once (QoS 1, retained, floxgate's topic and payload
 * shape) when temperature goes above 30 °C and a clear when it falls below 29; 10 s
 * tumbling min/max/mean windows per device and metric (stored and published at QoS 0
 * when a window closes); the two values inserted into SQLite in batches (synchronous=FULL, as floxgate ships). A QoS 1
 * reading is acknowledged after the batch holding it commits, as floxgate does.
 * No config, validation, dedupe, metrics, logs or uplink outbox.
 *
 * Two broker modes, as floxgate has:
 *  - embedded: an aedes broker in this process, readings consumed in `authorizePublish`
 *    (its callback, hence aedes' PUBACK, held until commit);
 *  - external: one MQTT.js subscriber (MQTT 5, QoS 1, receive maximum 1000) on an
 *    external broker (Mosquitto); its PUBACK written after commit.
 *
 *   node .bench/bench/floor.js --db FILE [--mode embedded|external] [--url mqtt://...]
 *   (prints `{"port":N}` once listening / subscribed)
 */
import { createServer } from 'node:net'
import { parseArgs } from 'node:util'
import { Aedes } from 'aedes'
import Database from 'better-sqlite3'
import mqtt, { type IPublishPacket } from 'mqtt'

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    mode: { type: 'string', default: 'embedded' },
    url: { type: 'string' },
  },
})
if (values.db === undefined) throw new Error('--db FILE is required')

const HIGH = 30
const HYSTERESIS = 1
const WINDOW_MS = 10_000
/** Rows per transaction, and how long a QoS 0 / QoS 1 reading may wait for its commit. */
const BATCH_ROWS = 1000
const QOS0_DELAY_MS = 1000
const QOS1_DELAY_MS = 20

const db = new Database(values.db)
db.pragma('journal_mode = WAL')
// The durability floxgate ships with (store.durability: full): an fsync per commit.
db.pragma('synchronous = FULL')
db.exec(`CREATE TABLE IF NOT EXISTS readings (device TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS aggregates (device TEXT NOT NULL, metric TEXT NOT NULL, start INTEGER NOT NULL, min REAL, max REAL, mean REAL, count INTEGER)`)
const insert = db.prepare('INSERT INTO readings (device, metric, ts, value) VALUES (?, ?, ?, ?)')
const insertAggregate = db.prepare(
  'INSERT INTO aggregates (device, metric, start, min, max, mean, count) VALUES (?, ?, ?, ?, ?, ?, ?)',
)
type Row = [string, string, number, number]
interface Window {
  start: number
  min: number
  max: number
  sum: number
  count: number
}
const commit = db.transaction((rows: Row[], closed: [string, string, Window][]) => {
  for (const r of rows) insert.run(r[0], r[1], r[2], r[3])
  for (const [d, m, w] of closed)
    insertAggregate.run(d, m, w.start, w.min, w.max, w.sum / w.count, w.count)
})

let rows: Row[] = []
let closed: [string, string, Window][] = []
let acks: (() => void)[] = []
let timer: NodeJS.Timeout | undefined
let timerDue = Number.POSITIVE_INFINITY

function flush(): void {
  if (timer) clearTimeout(timer)
  timer = undefined
  timerDue = Number.POSITIVE_INFINITY
  if (rows.length === 0 && closed.length === 0) return
  commit(rows, closed)
  rows = []
  closed = []
  const done = acks
  acks = []
  for (const ack of done) ack()
}

function schedule(delayMs: number): void {
  const due = Date.now() + delayMs
  if (due >= timerDue) return
  if (timer) clearTimeout(timer)
  timerDue = due
  timer = setTimeout(flush, delayMs)
}

const windows = new Map<string, Window>()
const hot = new Set<string>()
let publish: (topic: string, payload: string, qos: 0 | 1, retain: boolean) => void = () => {}

function observe(device: string, metric: string, ts: number, value: number): void {
  const key = `${device}\u0000${metric}`
  const start = ts - (ts % WINDOW_MS)
  let w = windows.get(key)
  if (w !== undefined && w.start !== start) {
    closed.push([device, metric, w])
    publish(
      `floxgate/aggregates/${device}/${metric}`,
      JSON.stringify({
        device,
        metric,
        start: w.start,
        min: w.min,
        max: w.max,
        mean: w.sum / w.count,
        count: w.count,
      }),
      0,
      false,
    )
    w = undefined
  }
  if (w === undefined) {
    windows.set(key, { start, min: value, max: value, sum: value, count: 1 })
    return
  }
  if (value < w.min) w.min = value
  if (value > w.max) w.max = value
  w.sum += value
  w.count++
}

function alert(device: string, ts: number, value: number): void {
  const active = hot.has(device)
  let state: string
  if (!active && value > HIGH) {
    hot.add(device)
    state = 'raised'
  } else if (active && value < HIGH - HYSTERESIS) {
    hot.delete(device)
    state = 'cleared'
  } else return
  publish(
    `floxgate/alerts/${device}/temperature/too-hot`,
    JSON.stringify({
      device,
      metric: 'temperature',
      rule: 'too-hot',
      state,
      value,
      threshold: HIGH,
      ts,
    }),
    1,
    true,
  )
}

/** One reading; `ack` (QoS 1) runs once it is committed. */
function onReading(topic: string, payload: Buffer, ack: (() => void) | undefined): void {
  const device = topic.slice('sensors/'.length, topic.length - '/telemetry'.length)
  const m = JSON.parse(payload.toString()) as { temperature: number; humidity: number; ts: number }
  alert(device, m.ts, m.temperature)
  observe(device, 'temperature', m.ts, m.temperature)
  observe(device, 'humidity', m.ts, m.humidity)
  rows.push([device, 'temperature', m.ts, m.temperature], [device, 'humidity', m.ts, m.humidity])
  if (ack) acks.push(ack)
  if (rows.length >= BATCH_ROWS) flush()
  else schedule(ack ? QOS1_DELAY_MS : QOS0_DELAY_MS)
}

const isReading = (topic: string) => topic.startsWith('sensors/') && topic.endsWith('/telemetry')

let port = 0
if (values.mode === 'embedded') {
  const broker = await Aedes.createBroker()
  broker.authorizePublish = (_client, packet, cb) => {
    if (!isReading(packet.topic)) return cb(null)
    const payload = packet.payload as Buffer
    if (packet.qos === 0) {
      onReading(packet.topic, payload, undefined)
      return cb(null)
    }
    onReading(packet.topic, payload, () => cb(null))
  }
  publish = (topic, payload, qos, retain) =>
    broker.publish(
      { cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain, dup: false },
      () => {},
    )
  const server = createServer(broker.handle)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const addr = server.address()
  port = typeof addr === 'object' && addr !== null ? addr.port : 0
} else {
  if (values.url === undefined) throw new Error('--url is required with --mode external')
  // MQTT.js reads the next packet only after customHandleAcks' callback: answer it at once
  // with an error (it then sends nothing) and write the PUBACK after the commit.
  const deferred = new Error('acknowledged after commit')
  type Send = (packet: { cmd: 'puback'; messageId: number; reasonCode: number }) => void
  let send: Send = () => {}
  const sub = await mqtt.connectAsync(values.url, {
    clientId: `floor-${process.pid}`,
    protocolVersion: 5,
    reconnectPeriod: 0,
    properties: { receiveMaximum: 1000 },
    customHandleAcks: (topic: string, payload: Buffer, packet: IPublishPacket, done) => {
      const messageId = packet.messageId!
      onReading(topic, payload, () => send({ cmd: 'puback', messageId, reasonCode: 0 }))
      done(deferred)
    },
  })
  const raw = (sub as unknown as { _sendPacket: Send })._sendPacket
  send = (p) => raw.call(sub, p)
  sub.on('error', (err) => {
    if (err !== deferred) throw err
  })
  sub.on('message', (topic, payload, packet) => {
    if (packet.qos === 0 && isReading(topic)) onReading(topic, payload, undefined)
  })
  publish = (topic, payload, qos, retain) => {
    sub.publish(topic, payload, { qos, retain })
  }
  await sub.subscribeAsync('sensors/+/telemetry', { qos: 1 })
}
process.stdout.write(`${JSON.stringify({ port })}\n`)

process.on('SIGTERM', () => {
  flush()
  db.close()
  process.exit(0)
})
