import { spawn } from 'node:child_process'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js'
import { sampleSum, scrape } from '../helpers/prometheus.js'
import { waitFor } from '../helpers/wait.js'
import { type CliProcess, startDaemon } from './cli-process.js'
import { type TestConfig, writeTestConfig } from './harness.js'

/**
 * External mode as a new user deploys it: Debian's Mosquitto with a config of only
 * `listener` and `allow_anonymous true` (max_inflight_messages 20, max_queued_messages
 * 1000), floxgate as a child process with the default group commit, and a burst from
 * `mosquitto_pub -l`. Mosquitto acknowledges the publisher on receipt, so a message it
 * drops from the gateway's queue is lost for good: none may be dropped.
 */
let mosquitto: Mosquitto
let cfg: TestConfig
let daemon: CliProcess

beforeAll(async () => {
  mosquitto = await startMosquitto({ stock: true })
  cfg = await writeTestConfig({
    log: { level: 'info' },
    http: { enabled: true },
    broker: { mode: 'external', external: { url: mosquitto.url } },
    // the defaults, not the harness's fast commits
    store: { durability: 'full', batch: { maxRows: 500, maxDelayMs: 20, qos0DelayMs: 10_000 } },
  })
  daemon = await startDaemon(cfg.file)
})
afterAll(async () => {
  await daemon?.kill()
  await mosquitto?.close()
  cfg?.cleanup()
})

function storedRows(device: string): number[] {
  const db = new Database(cfg.dbFile, { readonly: true })
  try {
    return db
      .prepare(
        'SELECT r.value FROM readings r JOIN series s ON s.id = r.series WHERE s.device = ? ORDER BY r.ts',
      )
      .all(device)
      .map((r) => (r as { value: number }).value)
  } finally {
    db.close()
  }
}

/**
 * `mosquitto_pub -l` fed `perSecond` lines a second (slices every 20 ms), as a busy
 * sensor network would; resolves once it exits (every message acknowledged by Mosquitto).
 */
function mosquittoPub(
  topic: string,
  lines: readonly string[],
  perSecond = Infinity,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-q', '1', '-t', topic, '-l'],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    )
    let err = ''
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    const slice = Number.isFinite(perSecond)
      ? Math.max(1, Math.round(perSecond / 50))
      : lines.length
    let next = 0
    const feed = setInterval(() => {
      const part = lines.slice(next, next + slice)
      next += part.length
      if (part.length > 0) child.stdin.write(`${part.join('\n')}\n`)
      if (next >= lines.length) {
        clearInterval(feed)
        child.stdin.end()
      }
    }, 20)
    child.on('error', (e) => {
      clearInterval(feed)
      reject(e)
    })
    child.on('exit', (code) => {
      clearInterval(feed)
      code === 0 ? resolve() : reject(new Error(`mosquitto_pub exited ${code}: ${err}`))
    })
  })
}

const DROPPED = /Outgoing messages are being dropped/

/** Publishes `count` plain numbers to one device, waits until all are stored or some dropped. */
async function sendAndStore(device: string, count: number, perSecond?: number): Promise<void> {
  // within the generic temperature range (-100..200 °C), so every line is a reading
  const values = Array.from({ length: count }, (_, i) => (i % 2000) / 10)
  const started = Date.now()
  await mosquittoPub(`sensors/${device}/temperature`, values.map(String), perSecond)
  const published = Date.now()
  // Ends when every reading is stored, or at once when Mosquitto says it dropped some.
  await waitFor(() => storedRows(device).length >= count || DROPPED.test(mosquitto.log()), {
    timeoutMs: 60_000,
    intervalMs: 50,
    what: `${count} readings of ${device} in SQLite`,
  })
  const rows = storedRows(device)
  const ms = Date.now() - started
  console.log(
    `stock Mosquitto, ${device}: ${count} published in ${published - started} ms (${Math.round((count * 1000) / Math.max(1, published - started))}/s), ${rows.length} stored after ${ms} ms`,
  )
  expect(mosquitto.log()).not.toMatch(DROPPED)
  expect(rows).toEqual(values)
}

it('a burst of 5000 QoS 1 readings from mosquitto_pub -l (as fast as it goes): every one stored, none dropped', async () => {
  await sendAndStore('burst', 5000)
})

it('10,000 QoS 1 readings offered at 5,000/s: every one stored, none dropped', async () => {
  await sendAndStore('stream', 10_000, 5000)
})

it('/metrics agrees with SQLite after the bursts: in = stored = rows', async () => {
  const text = await scrape(cfg.httpPort)
  const total = (name: string) => sampleSum(text, name)
  expect(total('floxgate_readings_stored_total')).toBe(15_000)
  expect(total('floxgate_readings_in_total')).toBe(15_000)
  expect(total('floxgate_readings_duplicate_total') + total('floxgate_dead_letters_total')).toBe(0)
})

it('the start log says which Mosquitto settings keep messages while floxgate is down', () => {
  const hint = daemon.logs.find((l) => /max_queued_messages/.test(l.msg))
  expect(hint?.msg).toMatch(/persistence true/)
})
