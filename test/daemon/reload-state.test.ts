/**
 * What a reload (SIGHUP to the real daemon) keeps and what it clears: every series' rule
 * state goes on (a device's silence counts from its last reading, configured or not), and
 * an alert whose rule was removed is cleared, stored and published as cleared, also when
 * the rule was removed while the daemon was stopped.
 */
import Database from 'better-sqlite3'
import { afterAll, afterEach, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { type CliProcess, killAll, startDaemon } from './cli-process.js'
import {
  type AlertMessage,
  connectClient,
  openReader,
  type RecordingClient,
  subscribed,
  type TestConfig,
  telemetry,
  writeTestConfig,
} from './harness.js'

const configs: TestConfig[] = []
const clients: RecordingClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close()
  await killAll()
})
afterAll(() => {
  for (const c of configs) c.cleanup()
})

async function config(over: Record<string, unknown>): Promise<TestConfig> {
  const cfg = await writeTestConfig({ log: { level: 'info' }, ...over })
  configs.push(cfg)
  return cfg
}

async function client(cfg: TestConfig): Promise<RecordingClient> {
  const c = await connectClient(cfg.brokerPort)
  clients.push(c)
  return c
}

interface AlertRow {
  device: string
  rule: string
  state: string
  ts: number
}

function alertEvents(cfg: TestConfig): AlertRow[] {
  const db = new Database(cfg.dbFile, { readonly: true })
  try {
    return db
      .prepare('SELECT device, rule, state, ts FROM alert_events ORDER BY id')
      .all() as AlertRow[]
  } finally {
    db.close()
  }
}

function raisedNow(cfg: TestConfig): string[] {
  const db = new Database(cfg.dbFile, { readonly: true })
  try {
    return (db.prepare('SELECT device, rule FROM alert_state').all() as AlertRow[]).map(
      (a) => `${a.device}/${a.rule}`,
    )
  } finally {
    db.close()
  }
}

async function reload(daemon: CliProcess, cfg: TestConfig, over: Record<string, unknown>) {
  const before = daemon.logs.length
  cfg.rewrite(over)
  daemon.child.kill('SIGHUP')
  return await waitFor(
    () => daemon.logs.slice(before).find((l) => /^config reloaded/.test(l.msg)),
    { what: 'the reload' },
  )
}

const quiet = { id: 'quiet', staleSeconds: 6 }

it('after a reload, a configured and an unknown device go stale from their last reading, not from the reload', async () => {
  const cfg = await config({
    alerts: { staleCheckSeconds: 1 },
    rules: [quiet],
    devices: [{ id: 'known', profile: 'generic' }],
    unknownDevices: { policy: 'accept' },
  })
  const daemon = await startDaemon(cfg.file)
  const sensor = await client(cfg)
  for (const device of ['known', 'stranger']) {
    await sensor.client.publishAsync(
      `sensors/${device}/telemetry`,
      telemetry({ temperature: 20 }, Date.now()),
      { qos: 1 },
    )
  }
  const db = openReader(cfg.dbFile)
  const lastReading = Math.max(...db.readings().map((r) => r.ts))
  db.close()
  // Two thirds of the silence pass before the reload.
  await waitFor(() => Date.now() >= lastReading + 4000, { what: '4 s of silence' })
  const reloaded = await reload(daemon, cfg, {
    rules: [quiet, { id: 'hot', metric: 'temperature', high: 90 }],
  })
  const reloadAt = Date.parse(String(reloaded.time))

  const raises = await waitFor(
    () => {
      const r = alertEvents(cfg).filter((a) => a.rule === 'quiet' && a.state === 'raised')
      return r.length === 2 ? r : undefined
    },
    { timeoutMs: 15_000, what: 'both devices raised stale' },
  )
  expect(raises.map((a) => a.device).sort()).toEqual(['known', 'stranger'])
  // Silence counted from the last reading: raised before 6 s after the reload (a timer
  // restarted by the reload raises 6 s after it at the earliest).
  for (const a of raises) expect(a.ts).toBeLessThan(reloadAt + 6000)
  expect(await daemon.stop()).toBe(0)
})

const hot = { id: 'hot', metric: 'temperature', high: 30 }

it('an alert whose rule a reload removes is cleared: stored, published as cleared, and gone from the state a start republishes', async () => {
  const cfg = await config({ rules: [hot, quiet] })
  const daemon = await startDaemon(cfg.file)
  const watcher = await subscribed(cfg.brokerPort, 'floxgate/alerts/#')
  clients.push(watcher)
  const sensor = await client(cfg)
  await sensor.client.publishAsync(
    'sensors/oven/telemetry',
    telemetry({ temperature: 31 }, Date.now()),
    {
      qos: 1,
    },
  )
  expect(raisedNow(cfg)).toEqual(['oven/hot'])

  await reload(daemon, cfg, { rules: [quiet] })
  await waitFor(() => raisedNow(cfg).length === 0, { what: 'the alert state cleared' })
  expect(alertEvents(cfg).map((a) => `${a.device}/${a.rule}/${a.state}`)).toEqual([
    'oven/hot/raised',
    'oven/hot/cleared',
  ])
  const published = await waitFor(
    () => {
      const m = watcher.json<AlertMessage>('floxgate/alerts/oven/')
      return m.length === 2 ? m : undefined
    },
    { what: 'the clear on MQTT' },
  )
  expect(published.map((m) => [m.rule, m.state])).toEqual([
    ['hot', 'raised'],
    ['hot', 'cleared'],
  ])
  expect(await daemon.stop()).toBe(0)
})

it('an alert whose rule was removed while the daemon was stopped is cleared at the start, not republished as raised', async () => {
  const cfg = await config({ rules: [hot] })
  let daemon = await startDaemon(cfg.file)
  const sensor = await client(cfg)
  await sensor.client.publishAsync(
    'sensors/kiln/telemetry',
    telemetry({ temperature: 35 }, Date.now()),
    {
      qos: 1,
    },
  )
  expect(raisedNow(cfg)).toEqual(['kiln/hot'])
  await sensor.close()
  expect(await daemon.stop()).toBe(0)

  cfg.rewrite({ rules: [] })
  daemon = await startDaemon(cfg.file)
  const watcher = await subscribed(cfg.brokerPort, 'floxgate/alerts/#')
  clients.push(watcher)
  await waitFor(() => raisedNow(cfg).length === 0, { what: 'the stored alert cleared' })
  expect(alertEvents(cfg).map((a) => `${a.device}/${a.rule}/${a.state}`)).toEqual([
    'kiln/hot/raised',
    'kiln/hot/cleared',
  ])
  const published = await waitFor(() => watcher.json<AlertMessage>('floxgate/alerts/kiln/')[0], {
    what: 'the clear, retained',
  })
  expect(published).toMatchObject({ rule: 'hot', state: 'cleared' })
  expect(await daemon.stop()).toBe(0)
})

it('a temperature before a reload and a humidity after it still make a dew point', async () => {
  const cfg = await config({
    devices: [{ id: 'pair', profile: 'generic', derive: ['dew_point'] }],
  })
  const daemon = await startDaemon(cfg.file)
  const sensor = await client(cfg)
  await sensor.client.publishAsync('sensors/pair/temperature', '12', { qos: 1 })
  await reload(daemon, cfg, { rules: [quiet] })
  await sensor.client.publishAsync('sensors/pair/humidity', '90', { qos: 1 })
  const db = openReader(cfg.dbFile)
  try {
    // 12 °C at 90 % RH: dew point 10.41 °C (docs/sensors.md)
    expect(db.readings('pair').map((r) => [r.metric, r.value])).toEqual([
      ['temperature', 12],
      ['dew_point', 10.41],
      ['humidity', 90],
    ])
  } finally {
    db.close()
  }
  expect(await daemon.stop()).toBe(0)
})
