/**
 * A damaged database at start: `floxgate start` exits at once with code 3 and one line
 * naming the file and the recovery (move it aside), the same on every retry, so systemd
 * (RestartPreventExitStatus=2 3) stops instead of restarting in a loop.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/tmp.js'
import {
  ensureBuilt,
  killAllDaemons,
  root,
  startDaemon,
  storedReadings,
  writeConfig,
} from './daemon-process.js'
import { SensorFleet } from './sensor-fleet.js'

const tmp = tempDir('floxgate-crash-corrupt-')

beforeAll(() => ensureBuilt())
afterAll(async () => {
  await killAllDaemons()
  tmp.cleanup()
})

async function expectRefusedTwice(config: string, dbFile: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const d = await startDaemon(config, { ready: false })
    const code = await d.exited
    expect(code).toBe(3)
    const lines = d.stderr().trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(dbFile)
    expect(lines[0]).toContain('move the file aside')
    expect(lines[0]).toContain('FLX_ERR_STORE_CORRUPT')
    expect(d.logs.some((l) => l.msg === 'floxgate is ready')).toBe(false)
  }
}

it('refuses a file of garbage with exit code 3 and the recovery, every time', async () => {
  const dir = join(tmp.dir, 'garbage')
  const dataDir = join(dir, 'data')
  mkdirSync(dataDir, { recursive: true })
  const dbFile = join(dataDir, 'floxgate.db')
  writeFileSync(dbFile, randomBytes(64 * 1024))
  const before = readFileSync(dbFile)
  await expectRefusedTwice(writeConfig(dir, { dataDir, port: await freePort() }), dbFile)
  // Refusing must not "repair" (overwrite) what the operator may want to recover.
  expect(readFileSync(dbFile).equals(before)).toBe(true)
})

it('refuses a truncated database, and starts fresh once it is moved aside', async () => {
  const dir = join(tmp.dir, 'truncated')
  const dataDir = join(dir, 'data')
  const dbFile = join(dataDir, 'floxgate.db')
  const port = await freePort()
  const config = writeConfig(dir, { dataDir, port })
  // A real database with some readings, cleanly closed.
  const d = await startDaemon(config)
  const fleet = new SensorFleet({
    port,
    devices: 4,
    perDevice: 500,
    prefix: 'cut-',
    baseTs: Date.now() - 3_600_000,
  })
  await fleet.run()
  expect(await d.stop()).toBe(0)
  truncateSync(dbFile, Math.floor(statSync(dbFile).size / 2))

  await expectRefusedTwice(config, dbFile)

  // The documented recovery: move it aside, start again with an empty database.
  renameSync(dbFile, `${dbFile}.corrupt`)
  const fresh = await startDaemon(config)
  expect(await fresh.stop()).toBe(0)
  expect(storedReadings(dbFile, 'cut-').size).toBe(0)
})

it('the systemd unit does not restart on exit codes 2 and 3', () => {
  const unit = readFileSync(join(root, 'systemd/floxgate.service'), 'utf8')
  expect(unit).toMatch(/^RestartPreventExitStatus=2 3$/m)
})
