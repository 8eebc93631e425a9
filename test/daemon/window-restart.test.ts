/**
 * Aggregate windows across a graceful restart of the real daemon (SIGTERM, then start):
 * the windows open at the stop are kept in the database and go on after the start, so
 * no window loses the readings that came before the stop (docs/storage.md, Aggregates).
 */
import Database from 'better-sqlite3'
import { afterAll, afterEach, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { killAll, startDaemon } from './cli-process.js'
import {
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

async function publish(cfg: TestConfig, device: string, values: [number, number][]) {
  const sensor = await connectClient(cfg.brokerPort)
  clients.push(sensor)
  for (const [ts, v] of values) {
    await sensor.client.publishAsync(
      `sensors/${device}/telemetry`,
      telemetry({ temperature: v }, ts),
      {
        qos: 1,
      },
    )
  }
}

function keptRows(cfg: TestConfig): number {
  const db = new Database(cfg.dbFile, { readonly: true })
  try {
    return (db.prepare('SELECT count(*) AS n FROM kept_windows').get() as { n: number }).n
  } finally {
    db.close()
  }
}

function aggregates(cfg: TestConfig, device: string) {
  const db = openReader(cfg.dbFile)
  try {
    return db.aggregates(device)
  } finally {
    db.close()
  }
}

it('a window open at SIGTERM goes on after the start: one aggregate of every reading, before and after, stored and published', async () => {
  const cfg = await writeTestConfig({
    log: { level: 'info' },
    aggregates: { windowSeconds: 60, graceSeconds: 600 },
  })
  configs.push(cfg)
  // The last minute's window: its grace keeps it open on the clock for the whole test,
  // and a reading of the current minute (not in the future) closes it.
  const minute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000
  let daemon = await startDaemon(cfg.file)
  await publish(cfg, 'kiln', [
    [minute + 1, 10],
    [minute + 2, 20],
    [minute + 3, 30],
  ])
  expect(await daemon.stop()).toBe(0)
  // Not closed half-full, and not lost: kept.
  expect(aggregates(cfg, 'kiln')).toEqual([])
  expect(keptRows(cfg)).toBe(1)

  daemon = await startDaemon(cfg.file)
  // taken back at the start: a later crash cannot bring back a window closed since
  expect(keptRows(cfg)).toBe(0)
  const watcher = await subscribed(cfg.brokerPort, 'floxgate/aggregates/#')
  clients.push(watcher)
  await publish(cfg, 'kiln', [
    [minute + 4, 40],
    [minute + 5, 50],
    [minute + 60_000, 99], // the next window: closes this one
  ])
  const published = await waitFor(() => watcher.json('floxgate/aggregates/kiln/')[0], {
    what: 'the aggregate on MQTT',
  })
  const whole = { count: 5, min: 10, max: 50, mean: 30, last: 50 }
  expect(published).toMatchObject(whole)
  expect(aggregates(cfg, 'kiln')).toEqual([{ device: 'kiln', metric: 'temperature', ...whole }])
  expect(await daemon.stop()).toBe(0)
})

it('a window kept at the stop whose size the config changed meanwhile is closed at the start as it was and stored', async () => {
  const cfg = await writeTestConfig({
    log: { level: 'info' },
    aggregates: { windowSeconds: 3600, graceSeconds: 0 },
  })
  configs.push(cfg)
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000
  let daemon = await startDaemon(cfg.file)
  await publish(cfg, 'oven', [
    [hour + 1, 1],
    [hour + 2, 3],
  ])
  expect(await daemon.stop()).toBe(0)

  cfg.rewrite({ aggregates: { windowSeconds: 1800, graceSeconds: 0 } })
  daemon = await startDaemon(cfg.file)
  const stored = await waitFor(() => aggregates(cfg, 'oven')[0], {
    what: 'the kept window stored at the first tick',
  })
  expect(stored).toEqual({
    device: 'oven',
    metric: 'temperature',
    count: 2,
    min: 1,
    max: 3,
    mean: 2,
    last: 3,
  })
  expect(keptRows(cfg)).toBe(0)
  expect(await daemon.stop()).toBe(0)
})
