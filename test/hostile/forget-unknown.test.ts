/**
 * Issue 9 case 10 against the real daemon: one-shot unknown ids with a stale rule that
 * has no device filter must not lock new sensors out. An unknown device silent past
 * `unknownDevices.forgetAfterSeconds` is forgotten (its alerts cleared in SQLite and on
 * the broker), only live ones count against `unknownDevices.max`, also after a restart.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, beforeAll, expect, it } from 'vitest'
import { ensureBuilt, storedReadings } from '../crash/daemon-process.js'
import { type CliProcess, killAll, startDaemon } from '../daemon/cli-process.js'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

let tmp: { dir: string; cleanup: () => void } | undefined
const clients: MqttClient[] = []

beforeAll(() => ensureBuilt(), 60_000)
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true)
  await killAll()
  tmp?.cleanup()
})

interface Setup {
  readonly file: string
  readonly db: string
  readonly port: number
  readonly httpPort: number
}

async function setup(forgetAfterSeconds: number): Promise<Setup> {
  tmp = tempDir('floxgate-forget-')
  const dataDir = join(tmp.dir, 'data')
  mkdirSync(dataDir)
  const port = await freePort()
  const httpPort = await freePort()
  const file = join(tmp.dir, 'floxgate.yaml')
  writeFileSync(
    file,
    JSON.stringify({
      gateway: { id: 'gw-forget', dataDir },
      broker: { embedded: { host: '127.0.0.1', port, rateLimit: { messagesPerSecond: 0 } } },
      sensors: { topics: [{ pattern: 'sensors/{device}/telemetry', format: 'json' }] },
      unknownDevices: { policy: 'accept', profile: 'generic', max: 3, forgetAfterSeconds },
      // the example config's `silent`: a stale rule for every device
      rules: [{ id: 'silent', staleSeconds: 1, severity: 'warning' }],
      alerts: { staleCheckSeconds: 0.5 },
      aggregates: { enabled: false },
      store: { batch: { maxDelayMs: 5, qos0DelayMs: 5 } },
      http: { enabled: true, host: '127.0.0.1', port: httpPort },
      watchdog: { enabled: false },
    }),
  )
  return { file, db: join(dataDir, 'floxgate.db'), port, httpPort }
}

async function client(s: Setup, clientId: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync({
    host: '127.0.0.1',
    port: s.port,
    clientId,
    reconnectPeriod: 0,
  })
  clients.push(c)
  return c
}

async function publish(s: Setup, devices: readonly string[]): Promise<void> {
  const c = await client(s, `pub-${devices.join('-')}`)
  for (const d of devices) {
    await c.publishAsync(`sensors/${d}/telemetry`, JSON.stringify({ temperature: 21 }), { qos: 1 })
  }
}

function query<T>(file: string, sql: string): T[] {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare(sql).all() as T[]
  } finally {
    db.close()
  }
}

const activeDevices = (s: Setup) =>
  query<{ device: string }>(s.db, 'SELECT device FROM alert_state ORDER BY device').map(
    (r) => r.device,
  )

const clearedDevices = (s: Setup) =>
  query<{ device: string }>(
    s.db,
    `SELECT device FROM alert_events WHERE state = 'cleared' ORDER BY device`,
  ).map((r) => r.device)

const deadLettered = (s: Setup, device: string) =>
  query<{ reason: string }>(s.db, `SELECT reason FROM dead_letters WHERE device = '${device}'`).map(
    (r) => r.reason,
  )

async function unknownGauge(s: Setup): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.httpPort}/metrics`)).text()
  const m = /^floxgate_unknown_devices (\d+)$/m.exec(text)
  return Number(m?.[1] ?? Number.NaN)
}

/** The last retained alert state on the broker per device, as a new subscriber sees it. */
async function retainedAlertStates(s: Setup): Promise<Record<string, string>> {
  const c = await client(s, `watch-${Date.now()}`)
  const states: Record<string, string> = {}
  c.on('message', (_t, p, packet) => {
    if (!packet.retain) return
    const a = JSON.parse(p.toString()) as { device: string; state: string }
    states[a.device] = a.state
  })
  await c.subscribeAsync('floxgate/alerts/#', { qos: 1 })
  return states
}

it('forgets one-shot unknown devices silent past forgetAfterSeconds: alerts cleared, a new sensor accepted', async () => {
  const s = await setup(3)
  const d = await startDaemon(s.file)
  await publish(s, ['one-1', 'one-2', 'one-3'])
  // each one raises `silent` after 1 s, and is forgotten after 3 s: its alert is cleared
  await waitFor(() => clearedDevices(s).length === 3, {
    timeoutMs: 20_000,
    what: 'three alerts cleared',
  })
  expect(clearedDevices(s)).toEqual(['one-1', 'one-2', 'one-3'])
  expect(activeDevices(s)).toEqual([])
  const forgot = await d.waitForLog(/^forgot unknown devices silent/)
  expect(forgot.alertsCleared).toBeGreaterThanOrEqual(1)
  await waitFor(async () => (await unknownGauge(s)) === 0, { what: 'no unknown device live' })
  const retained = await retainedAlertStates(s)
  await waitFor(() => Object.keys(retained).length === 3, { what: 'retained alert states' })
  expect(retained).toEqual({ 'one-1': 'cleared', 'one-2': 'cleared', 'one-3': 'cleared' })
  // max is 3: a fourth sensor is accepted now that the three are forgotten
  await publish(s, ['new-1'])
  expect(storedReadings(s.db, 'new-1').size).toBe(1)
  expect(deadLettered(s, 'new-1')).toEqual([])
  expect(await d.stop()).toBe(0)
}, 60_000)

it('after a restart, only unknown devices heard of within forgetAfterSeconds count against the max', async () => {
  const s = await setup(3600)
  let d: CliProcess = await startDaemon(s.file)
  await publish(s, ['r-1', 'r-2', 'r-3'])
  await waitFor(() => activeDevices(s).length === 3, { what: 'three stale alerts' })
  expect(await d.stop()).toBe(0)

  // Restarted within the hour: the three are still live (their alerts seeded), and
  // still fill the max of 3.
  d = await startDaemon(s.file)
  expect(await unknownGauge(s)).toBe(3)
  await publish(s, ['r-4'])
  expect(deadLettered(s, 'r-4')).toEqual(['unknown-device'])
  expect(await d.stop()).toBe(0)

  // Two hours of silence while the gateway was down.
  const db = new Database(s.db)
  db.exec(`UPDATE latest SET ts = ts - 7200000; UPDATE alert_state SET since = since - 7200000`)
  db.close()
  d = await startDaemon(s.file)
  await waitFor(() => activeDevices(s).length === 0, { what: 'the stale alerts cleared' })
  expect(clearedDevices(s)).toEqual(['r-1', 'r-2', 'r-3'])
  const retained = await retainedAlertStates(s)
  await waitFor(() => Object.keys(retained).length === 3, { what: 'retained alert states' })
  expect(retained).toEqual({ 'r-1': 'cleared', 'r-2': 'cleared', 'r-3': 'cleared' })
  await publish(s, ['r-5'])
  expect(storedReadings(s.db, 'r-5').size).toBe(1)
  expect(await unknownGauge(s)).toBe(1)
  expect(await d.stop()).toBe(0)
}, 90_000)
