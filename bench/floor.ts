/**
 * The gateway benchmark's floor: the least any MQTT-to-SQLite process can do with the same
 * load. One process runs an aedes broker and a bare mqtt.js subscriber that parses each
 * JSON message and inserts its two values into SQLite in batches of 500. No rules, no
 * aggregates, no alerts, no dedupe, no acknowledgement after commit.
 *
 *   node .bench/bench/floor.js --db FILE   (prints `{"port":N}` once listening)
 */
import { createServer } from 'node:net'
import { parseArgs } from 'node:util'
import { Aedes } from 'aedes'
import Database from 'better-sqlite3'
import mqtt from 'mqtt'

const { values } = parseArgs({ options: { db: { type: 'string' } } })
if (values.db === undefined) throw new Error('--db FILE is required')

const db = new Database(values.db)
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
db.exec(
  'CREATE TABLE IF NOT EXISTS readings (device TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL)',
)
const insert = db.prepare('INSERT INTO readings (device, metric, ts, value) VALUES (?, ?, ?, ?)')
type Row = [string, string, number, number]
const insertMany = db.transaction((rows: Row[]) => {
  for (const r of rows) insert.run(r[0], r[1], r[2], r[3])
})
let batch: Row[] = []
let timer: NodeJS.Timeout | undefined
function flush(): void {
  if (timer) clearTimeout(timer)
  timer = undefined
  if (batch.length === 0) return
  insertMany(batch)
  batch = []
}

const broker = await Aedes.createBroker()
const server = createServer(broker.handle)
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
const addr = server.address()
const port = typeof addr === 'object' && addr !== null ? addr.port : 0

const sub = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'floor-subscriber' })
sub.on('message', (topic, payload) => {
  const device = topic.split('/')[1] ?? ''
  const m = JSON.parse(payload.toString()) as { temperature: number; humidity: number; ts: number }
  batch.push([device, 'temperature', m.ts, m.temperature], [device, 'humidity', m.ts, m.humidity])
  if (batch.length >= 1000) flush()
  else if (timer === undefined) timer = setTimeout(flush, 50)
})
await sub.subscribeAsync('sensors/+/telemetry', { qos: 0 })
process.stdout.write(`${JSON.stringify({ port })}\n`)

process.on('SIGTERM', () => {
  flush()
  db.close()
  process.exit(0)
})
