/**
 * Durable before acknowledged, external broker: sensors publish QoS 1 to a real
 * Mosquitto, which PUBACKs them itself; the daemon holds a persistent session there and
 * acknowledges each message only after its commit. The daemon is SIGKILLed six times at
 * seeded random moments: every reading Mosquitto accepted must end in SQLite exactly once
 * (Mosquitto redelivers what the daemon had not acknowledged).
 */
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { seededRandom } from '../../src/sim/random.js'
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import {
  ensureBuilt,
  killAllDaemons,
  startDaemon,
  storedCount,
  storedReadings,
  writeConfig,
} from './daemon-process.js'
import { SensorFleet } from './sensor-fleet.js'

const SEED = 777
const KILLS = 6
const tmp = tempDir('floxgate-crash-external-')
let mosquitto: Mosquitto | undefined

beforeAll(() => ensureBuilt())
afterAll(async () => {
  await killAllDaemons()
  await mosquitto?.close()
  tmp.cleanup()
})

it('stores every reading Mosquitto accepted exactly once across six SIGKILLs', async () => {
  mosquitto = await startMosquitto()
  const dataDir = join(tmp.dir, 'data')
  const dbFile = join(dataDir, 'floxgate.db')
  const config = writeConfig(tmp.dir, { dataDir, externalUrl: mosquitto.url, batchMaxDelayMs: 20 })

  // The first start creates the daemon's persistent session: wait for its subscription
  // (it announces `online` right after SUBACK) before any sensor publishes.
  const watcher = await mqtt.connectAsync(mosquitto.url, { reconnectPeriod: 0 })
  let online = 0
  watcher.on('message', (_t, p) => {
    if (p.toString().includes('online')) online++
  })
  await watcher.subscribeAsync('floxgate/+/status', { qos: 1 })
  let daemon = await startDaemon(config)
  await waitFor(() => online > 0, { what: 'the daemon subscribed on Mosquitto' })
  await watcher.endAsync()

  const fleet = new SensorFleet({
    port: mosquitto.port,
    devices: 20,
    perDevice: 1000,
    prefix: 'ext-',
    baseTs: Date.now() - 3_600_000,
    window: 8,
    // Paced so the kills land while readings are still flowing in (about 8 s).
    ratePerSecond: 2500,
    deadlineMs: 60_000,
  })
  const running = fleet.run()
  running.catch(() => {})

  const random = seededRandom(SEED)
  let killedWithBacklog = 0
  for (let k = 0; k < KILLS; k++) {
    const before = storedCount(dbFile, 'ext-')
    // A seeded random moment: after 100-700 more readings are stored by this process.
    const more = 100 + Math.floor(random() * 600)
    await waitFor(() => storedCount(dbFile, 'ext-') >= before + more, {
      timeoutMs: 30_000,
      intervalMs: 25,
      what: `${more} more readings stored`,
    })
    await daemon.kill()
    if (storedCount(dbFile, 'ext-') < fleet.total) killedWithBacklog++
    daemon = await startDaemon(config)
  }
  await running
  expect(fleet.acked.size).toBe(fleet.total)
  // Mosquitto redelivers the session's backlog; wait until the daemon has drained it.
  await waitFor(() => storedCount(dbFile, 'ext-') >= fleet.total, {
    timeoutMs: 60_000,
    intervalMs: 100,
    what: 'every accepted reading stored',
  })
  expect(await daemon.stop()).toBe(0)

  const stored = storedReadings(dbFile, 'ext-')
  expect(fleet.allKeys().filter((k) => stored.get(k) !== 1)).toEqual([])
  expect(stored.size).toBe(fleet.total)
  expect(killedWithBacklog).toBe(KILLS)
  // Room for the bounded waits above (six of up to 30 s, then 60 s): with vitest's default
  // 60 s the test, not a wait, timed out on a loaded machine (two suites at once: 60 s,
  // against 23 s alone).
}, 180_000)
