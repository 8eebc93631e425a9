/**
 * Durable before acknowledged, embedded broker: 20 sensors send 20,000 QoS 1 readings
 * while the daemon is SIGKILLed six times at seeded random moments and restarted on the
 * same port and database. Every PUBACKed reading must be in SQLite, exactly once.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { seededRandom } from '../../src/sim/random.js'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import {
  ensureBuilt,
  killAllDaemons,
  startDaemon,
  storedReadings,
  writeConfig,
} from './daemon-process.js'
import { SensorFleet } from './sensor-fleet.js'

const SEED = 4242
const KILLS = 6
const tmp = tempDir('floxgate-crash-embedded-')

beforeAll(() => ensureBuilt())
afterAll(async () => {
  await killAllDaemons()
  tmp.cleanup()
})

it('keeps every PUBACKed reading exactly once across six SIGKILLs', async () => {
  const port = await freePort()
  const dataDir = join(tmp.dir, 'data')
  const dbFile = join(dataDir, 'floxgate.db')
  const config = writeConfig(tmp.dir, { dataDir, port, batchMaxDelayMs: 5 })
  const fleet = new SensorFleet({
    port,
    devices: 20,
    perDevice: 1000,
    prefix: 'kill-',
    baseTs: Date.now() - 3_600_000,
    window: 8,
    deadlineMs: 150_000,
  })
  // Kill points: after a seeded random number of acks, spread over the whole run.
  const random = seededRandom(SEED)
  const slice = fleet.total / (KILLS + 1)
  const killAt = Array.from({ length: KILLS }, (_, k) => Math.round(slice * (k + 0.5 + random())))

  let daemon = await startDaemon(config)
  const running = fleet.run()
  running.catch(() => {})
  const lostAt: string[] = []
  // Devices still sending when a kill lands must each connect again.
  let interrupted = 0
  for (const threshold of killAt) {
    await waitFor(() => fleet.acked.size >= threshold, {
      timeoutMs: 60_000,
      what: `${threshold} acknowledged readings`,
    })
    interrupted += fleet.unfinished
    await daemon.kill()
    // Everything acknowledged so far was acknowledged by the process just killed.
    const stored = storedReadings(dbFile, 'kill-')
    for (const k of fleet.acked) if (stored.get(k) !== 1) lostAt.push(k)
    expect(lostAt, `acknowledged but not stored after the kill at ${threshold}`).toEqual([])
    daemon = await startDaemon(config)
  }
  await running
  expect(await daemon.stop()).toBe(0)

  expect(fleet.acked.size).toBe(fleet.total)
  const stored = storedReadings(dbFile, 'kill-')
  const missing = fleet.allKeys().filter((k) => stored.get(k) !== 1)
  expect(missing).toEqual([])
  expect(stored.size).toBe(fleet.total)
  // The kills really interrupted the fleet: devices were still sending at every kill, and
  // had to reconnect. (Not 20 per kill: a device may finish before a late kill, or read its
  // last PUBACKs from the socket after the kill and so need no new session.)
  expect(interrupted).toBeGreaterThanOrEqual(KILLS)
  expect(fleet.connections).toBeGreaterThan(20 + KILLS)
  expect(fleet.publishes).toBeGreaterThan(fleet.total)
  // Room for the fleet's own 150 s deadline: the default 60 s would cut the test first.
}, 180_000)
