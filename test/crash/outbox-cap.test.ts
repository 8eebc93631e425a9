/**
 * Upstream unreachable and a small `uplink.maxBufferMB`: the daemon's outbox never holds
 * more than the cap (topic + payload bytes, margin 0: the store enforces it inside each
 * batch transaction), the drop policy keeps the right end of the stream, and every
 * stored reading is either still in the outbox or counted as dropped in the log.
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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

/** 0.05 MB = 52,428 bytes: about 500 outbox rows of ~100 bytes. */
const CAP_MB = 0.05
const CAP_BYTES = Math.floor(CAP_MB * 1024 * 1024)
const DEVICES = 10
const PER_DEVICE = 300
const tmp = tempDir('floxgate-crash-cap-')

beforeAll(() => ensureBuilt())
afterAll(async () => {
  await killAllDaemons()
  tmp.cleanup()
})

function outbox(dbFile: string): { bytes: number; ts: Map<string, number[]> } {
  const db = new Database(dbFile, { fileMustExist: true })
  try {
    const rows = db.prepare('SELECT topic, payload FROM outbox ORDER BY id').all() as {
      topic: string
      payload: Buffer
    }[]
    const ts = new Map<string, number[]>()
    let bytes = 0
    for (const r of rows) {
      bytes += Buffer.byteLength(r.topic) + r.payload.length
      const p = JSON.parse(r.payload.toString()) as { device: string; ts: number }
      ts.set(p.device, [...(ts.get(p.device) ?? []), p.ts])
    }
    return { bytes, ts }
  } finally {
    db.close()
  }
}

describe.each(['drop-oldest', 'reject-new'] as const)('outbox cap, %s', (policy) => {
  it('stays under the cap and counts every drop', async () => {
    const dir = join(tmp.dir, policy)
    const dataDir = join(dir, 'data')
    const dbFile = join(dataDir, 'floxgate.db')
    const port = await freePort()
    // Nothing listens here: the uplink stays down for the whole test.
    const deadUpstream = await freePort()
    const httpPort = await freePort()
    const config = writeConfig(dir, {
      dataDir,
      port,
      httpPort,
      batchMaxDelayMs: 10,
      uplink: {
        url: `mqtt://127.0.0.1:${deadUpstream}`,
        streams: ['readings'],
        maxBufferMB: CAP_MB,
        dropPolicy: policy,
      },
    })
    const daemon = await startDaemon(config)
    const baseTs = Date.now() - 3_600_000
    const fleet = new SensorFleet({
      port,
      devices: DEVICES,
      perDevice: PER_DEVICE,
      prefix: 'cap-',
      baseTs,
      window: 8,
      deadlineMs: 60_000,
    })
    // Sample the outbox while it fills, not only at the end.
    let maxBytes = 0
    const sampler = setInterval(() => {
      try {
        maxBytes = Math.max(maxBytes, outbox(dbFile).bytes)
      } catch {
        // the file may be mid-creation on the first tick
      }
    }, 50)
    try {
      await fleet.run()
    } finally {
      clearInterval(sampler)
    }
    // The drops reach /metrics (counted on the next housekeeping tick) and the log (one
    // line per 5 s at most, each with the drops since the previous line).
    const loggedDrops = () =>
      daemon.logs
        .filter((l) => String(l.msg).includes('dropped'))
        .reduce((n, l) => n + Number(l[policy] ?? 0), 0)
    await waitFor(
      async () => (await metric(httpPort, 'floxgate_readings_dropped_total')) === loggedDrops(),
      { what: 'floxgate_readings_dropped_total to match the logged drops', timeoutMs: 15_000 },
    )
    expect(await daemon.stop()).toBe(0)

    const total = DEVICES * PER_DEVICE
    expect(storedReadings(dbFile, 'cap-').size).toBe(total)
    const { bytes, ts } = outbox(dbFile)
    expect(Math.max(bytes, maxBytes)).toBeLessThanOrEqual(CAP_BYTES)
    // Full to within a few rows: the cap is used, not undershot.
    expect(bytes).toBeGreaterThan(CAP_BYTES - 1000)

    const dropped = loggedDrops()
    let inOutbox = 0
    for (const list of ts.values()) inOutbox += list.length
    expect(dropped).toBeGreaterThan(0)
    expect(inOutbox + dropped).toBe(total)

    for (let d = 0; d < DEVICES; d++) {
      const kept = ts.get(`cap-${d}`) ?? []
      if (policy === 'drop-oldest') {
        // The newest readings survive: each device's last reading is waiting upstream.
        expect(kept).toContain(baseTs + PER_DEVICE - 1)
        expect(kept).not.toContain(baseTs)
      } else {
        // The first readings keep their place; newer ones were refused.
        expect(kept).toContain(baseTs)
        expect(kept).not.toContain(baseTs + PER_DEVICE - 1)
      }
    }
  })
})
