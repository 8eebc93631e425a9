/**
 * A full disk at runtime: the daemon's data dir is a 3 MiB tmpfs that another file fills.
 * QoS 1 readings are then refused (no PUBACK; the connection is dropped so the sensor
 * resends), /healthz reports the database unhealthy, the daemon keeps running, and once
 * space is freed the resent readings are stored, each once.
 */
import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import {
  ensureBuilt,
  killAllDaemons,
  metric,
  startDaemon,
  storedReadings,
  writeConfig,
} from './daemon-process.js'
import { SensorFleet } from './sensor-fleet.js'

const tmp = tempDir('floxgate-crash-full-')
const mountPoint = join(tmp.dir, 'data')
mkdirSync(mountPoint)

/** Mounting needs root (or CAP_SYS_ADMIN); without it this test is skipped, not faked. */
const mounted = (() => {
  if (process.getuid?.() !== 0) return false
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint], {
      stdio: 'ignore',
    })
    return true
  } catch {
    return false
  }
})()

beforeAll(() => ensureBuilt())
afterAll(async () => {
  await killAllDaemons()
  if (mounted) execFileSync('umount', ['-l', mountPoint])
  tmp.cleanup()
})

interface Health {
  status: string
  checks: Record<string, { ok: boolean; detail?: string; reason?: string }>
}

async function health(httpPort: number): Promise<Health> {
  return (await (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).json()) as Health
}

function fill(dir: string): string {
  const filler = join(dir, 'filler')
  const fd = openSync(filler, 'w')
  const block = Buffer.alloc(16 * 1024, 1)
  try {
    for (;;) writeSync(fd, block)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  } finally {
    closeSync(fd)
  }
  return filler
}

it.skipIf(!mounted)(
  'refuses instead of acknowledging on a full disk, stays up, and recovers',
  async () => {
    const port = await freePort()
    const httpPort = await freePort()
    const dbFile = join(mountPoint, 'floxgate.db')
    const config = writeConfig(join(tmp.dir, 'etc'), { dataDir: mountPoint, port, httpPort })
    const daemon = await startDaemon(config)
    const warmup = new SensorFleet({
      port,
      devices: 5,
      perDevice: 100,
      prefix: 'warm-',
      baseTs: Date.now() - 3_600_000,
    })
    await warmup.run()
    expect((await health(httpPort)).checks.database?.ok).toBe(true)

    const filler = fill(mountPoint)
    // Enough readings that the WAL must grow into the space that is no longer there.
    const fleet = new SensorFleet({
      port,
      devices: 10,
      perDevice: 2000,
      prefix: 'full-',
      baseTs: Date.now() - 3_600_000,
      deadlineMs: 90_000,
    })
    const running = fleet.run()
    running.catch(() => {})
    const down = await waitFor(
      async () => {
        const h = await health(httpPort)
        return h.checks.database?.ok === false ? h : undefined
      },
      { timeoutMs: 30_000, intervalMs: 50, what: '/healthz to report the database unhealthy' },
    )
    expect(down.status).not.toBe('ok')
    expect(down.checks.database?.reason ?? '').toMatch(/full|disk|space|SQLITE/i)
    // Refused messages cost the sensors their connection: they reconnect and resend.
    const connections = fleet.connections
    await waitFor(() => fleet.connections >= connections + 10, {
      timeoutMs: 20_000,
      what: 'sensors disconnected by refusals',
    })
    expect(daemon.child.exitCode).toBeNull()
    expect(fleet.acked.size).toBeLessThan(fleet.total)
    // Nothing acknowledged was lost while the disk was full.
    const during = storedReadings(dbFile, 'full-')
    expect([...fleet.acked].filter((k) => during.get(k) !== 1)).toEqual([])

    rmSync(filler)
    await waitFor(async () => (await health(httpPort)).checks.database?.ok === true, {
      timeoutMs: 20_000,
      what: 'the database healthy again',
    })
    await running
    // The figures balance after the refusals and resends: every value that arrived ends
    // stored, a copy, a dead letter or given up, and stored = the rows in SQLite.
    const m = (name: string) => metric(httpPort, name)
    await waitFor(async () => (await m('floxgate_readings_stored_total')) === 20_500, {
      what: 'every reading counted as stored',
    })
    process.stdout.write(
      `full disk: in ${await m('floxgate_readings_in_total')}, stored ${await m('floxgate_readings_stored_total')}, duplicates ${await m('floxgate_readings_duplicate_total')}, given up ${await m('floxgate_readings_dropped_total{reason="unhealthy"}')}\n`,
    )
    expect(await m('floxgate_readings_in_total')).toBe(
      (await m('floxgate_readings_stored_total')) +
        (await m('floxgate_readings_duplicate_total')) +
        (await m('floxgate_dead_letters_total')) +
        (await m('floxgate_readings_dropped_total{reason="unhealthy"}')),
    )
    expect(await daemon.stop()).toBe(0)

    const stored = storedReadings(dbFile, 'full-')
    expect(fleet.allKeys().filter((k) => stored.get(k) !== 1)).toEqual([])
    expect(storedReadings(dbFile, 'warm-').size).toBe(500)
    expect(
      daemon.logs.some((l) => /full|FLX_ERR_STORE/i.test(`${l.msg} ${String(l.err ?? '')}`)),
    ).toBe(true)
  },
)
