// A small stand-in entry for the packaging pipeline while the CLI is not there yet:
// an aedes broker, an MQTT.js QoS 1 round trip and SQLite, as the real daemon uses them.
// `--version` prints the version; `probe <db>` runs the round trip and prints JSON.
import { createServer } from 'node:net'
import { Aedes } from 'aedes'
import Database from 'better-sqlite3'
import mqtt from 'mqtt'
import { isSingleExecutable, sqliteNativeBinding } from '../src/ops/sea.ts'
import { VERSION } from '../src/version.ts'

// In an SEA argv[1] is the executable again, so the arguments start at 2 either way.
const [cmd, dbPath] = process.argv.slice(2)
if (cmd === '--version') {
  console.log(VERSION)
  process.exit(0)
}
if (cmd !== 'probe' || !dbPath) {
  console.error('usage: floxgate --version | probe <db-file>')
  process.exit(2)
}

// esbuild refuses top-level await in CommonJS output.
async function probe() {
  const nativeBinding = sqliteNativeBinding()
  const db = new Database(dbPath, nativeBinding ? { nativeBinding } : {})
  db.pragma('journal_mode = WAL')
  db.exec('CREATE TABLE IF NOT EXISTS readings (topic TEXT, payload TEXT)')
  const insert = db.prepare('INSERT INTO readings VALUES (?, ?)')

  const broker = await Aedes.createBroker()
  const server = createServer(broker.handle)
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const port = server.address().port

  const client = mqtt.connect({ protocol: 'mqtt', host: '127.0.0.1', port, clientId: 'probe' })
  const received = new Promise((resolve) => {
    client.on('message', (topic, payload) => {
      insert.run(topic, payload.toString())
      resolve(payload.toString())
    })
  })
  await client.subscribeAsync('sensors/#', { qos: 1 })
  await client.publishAsync('sensors/t1', JSON.stringify({ t: 21.5 }), { qos: 1 })
  const payload = await received
  const rows = db.prepare('SELECT count(*) AS n FROM readings').get().n

  await client.endAsync()
  await new Promise((r) => server.close(r))
  await new Promise((r) => broker.close(r))
  db.close()
  console.log(
    JSON.stringify({
      sea: isSingleExecutable(),
      node: process.version,
      arch: process.arch,
      nativeBinding,
      payload,
      rows,
    }),
  )
}

probe().catch((err) => {
  console.error(err)
  process.exit(1)
})
