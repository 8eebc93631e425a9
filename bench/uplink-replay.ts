/**
 * Uplink replay benchmark: how fast the forwarder drains an outbox backlog to a local
 * Mosquitto (publish QoS 1, PUBACK, delete), unpaced and with the replay rate cap.
 *
 *   node .bench/bench/uplink-replay.js [--url mqtt://127.0.0.1:1883] [--rows 50000]
 *     [--rates 0,2000,10000] [--inflight 64,256]
 *
 * Without --url it starts its own Mosquitto on a free loopback port. Prints one JSON line
 * per run. `replayBacklog()` times the drain of an existing outbox table in this process.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import { Forwarder, type ForwarderOptions, Outbox } from '../src/uplink/index.js'
import { VERSION } from '../src/version.js'
import { freePort } from '../test/helpers/net.js'

export interface ReplayResult {
  readonly rows: number
  readonly ms: number
  readonly rowsPerSecond: number
  readonly maxReplayPerSecond: number
  readonly inflight: number
  readonly resent: number
  /** Rows deleted per DELETE commit on average (higher: fewer writes to flash). */
  readonly rowsPerDeleteCommit: number
}

/**
 * Drains the outbox of `db` (already holding a backlog) through a new Forwarder and times
 * it from start() until the table is empty, i.e. every row PUBACKed and deleted.
 */
export async function replayBacklog(
  db: Database.Database,
  options: Omit<ForwarderOptions, 'gatewayId' | 'version'> & { gatewayId?: string },
  timeoutMs = 600_000,
): Promise<ReplayResult> {
  const count = db.prepare('SELECT count(*) AS n FROM outbox')
  const rows = (count.get() as { n: number }).n
  const forwarder = new Forwarder(new Outbox(db), {
    gatewayId: 'bench',
    version: VERSION,
    ...options,
  })
  const t0 = performance.now()
  forwarder.start()
  const deadline = Date.now() + timeoutMs
  // Checks the table every few ms; a count on a shrinking table is cheap next to the I/O.
  while ((count.get() as { n: number }).n > 0) {
    if (Date.now() > deadline) throw new Error(`replay did not finish in ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 5))
  }
  const ms = performance.now() - t0
  const s = forwarder.stats()
  await forwarder.stop()
  return {
    rows,
    ms: Math.round(ms),
    rowsPerSecond: Math.round((rows * 1000) / ms),
    maxReplayPerSecond: options.maxReplayPerSecond ?? 2000,
    inflight: options.inflight ?? 64,
    resent: s.resent,
    rowsPerDeleteCommit: Math.round((s.acked / Math.max(1, s.deleteCommits)) * 10) / 10,
  }
}

/** A temp outbox database holding `rows` reading-sized rows (about 90 bytes of JSON each). */
export function backlogDatabase(dir: string, rows: number): Database.Database {
  const db = new Database(join(dir, 'replay.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(
    'CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, created_at INTEGER NOT NULL)',
  )
  const insert = db.prepare(
    'INSERT INTO outbox (stream, topic, payload, created_at) VALUES (?, ?, ?, ?)',
  )
  const now = Date.now()
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      const device = `dev-${i % 100}`
      const payload = JSON.stringify({ device, metric: 'temperature', value: 21.5, ts: now + i })
      insert.run('readings', `readings/${device}/temperature`, Buffer.from(payload), now)
    }
  })()
  return db
}

async function startMosquitto(dir: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type error\n`,
  )
  const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] })
  const deadline = Date.now() + 10_000
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1')
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (up) return { url: `mqtt://127.0.0.1:${port}`, proc }
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error('mosquitto did not start')
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      rows: { type: 'string', default: '50000' },
      rates: { type: 'string', default: '0,2000,10000' },
      inflight: { type: 'string', default: '64,256' },
    },
  })
  const rows = Number(values.rows)
  const dir = mkdtempSync(join(tmpdir(), 'floxgate-replay-'))
  const own = values.url === undefined ? await startMosquitto(dir) : undefined
  const url = values.url ?? own!.url
  try {
    for (const inflight of values.inflight.split(',').map(Number)) {
      for (const rate of values.rates.split(',').map(Number)) {
        const runDir = mkdtempSync(join(dir, 'run-'))
        const db = backlogDatabase(runDir, rows)
        const result = await replayBacklog(db, {
          url,
          inflight,
          maxReplayPerSecond: rate,
          topicPrefix: 'bench',
          clientId: `floxgate-replay-bench-${process.pid}`,
        })
        db.close()
        process.stdout.write(`${JSON.stringify(result)}\n`)
      }
    }
  } finally {
    own?.proc.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main()
}
