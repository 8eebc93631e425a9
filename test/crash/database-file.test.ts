/**
 * The database file deleted, replaced or read-only under the real daemon. SQLite keeps
 * writing to the file it opened; a file no longer at the path is gone at the next start,
 * so once the path names another file (or none) the daemon must acknowledge nothing
 * more, say so on /healthz and in its log, and a restart must then store what the
 * sensors send again. A database it cannot write must stop the start (exit 3), not
 * report ready and refuse every reading after.
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, afterEach, expect, it } from 'vitest'
import { type CliProcess, killAll, startDaemon, withDeadline } from '../daemon/cli-process.js'
import { openReader, type TestConfig, telemetry, writeTestConfig } from '../daemon/harness.js'
import { waitFor } from '../helpers/wait.js'

const configs: TestConfig[] = []
const clients: MqttClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {})
  await killAll()
})
afterAll(() => {
  for (const c of configs) c.cleanup()
})

async function config(): Promise<TestConfig> {
  const cfg = await writeTestConfig({ log: { level: 'info' }, http: { enabled: true } })
  configs.push(cfg)
  return cfg
}

interface Health {
  status: string
  checks: Record<string, { ok: boolean; reason?: string }>
}

async function health(cfg: TestConfig): Promise<{ code: number; body: Health }> {
  const res = await fetch(`http://127.0.0.1:${cfg.httpPort}/healthz`)
  return { code: res.status, body: (await res.json()) as Health }
}

/**
 * A sensor that keeps its messages until acknowledged and sends them again after a
 * reconnect (MQTT.js with a persistent session). `acked` holds the sensor timestamps of
 * the readings the gateway acknowledged.
 */
async function sensor(cfg: TestConfig, id: string) {
  const client = await mqtt.connectAsync({
    host: '127.0.0.1',
    port: cfg.brokerPort,
    protocolVersion: 4,
    clientId: id,
    clean: false,
    reconnectPeriod: 100,
    connectTimeout: 5000,
  })
  clients.push(client)
  const acked: number[] = []
  return {
    client,
    acked,
    send(device: string, ts: number): void {
      client.publish(
        `sensors/${device}/telemetry`,
        telemetry({ temperature: 20 }, ts),
        { qos: 1 },
        (err) => {
          if (!err) acked.push(ts)
        },
      )
    },
  }
}

function storedTimes(cfg: TestConfig, device: string): number[] {
  const db = openReader(cfg.dbFile)
  try {
    return db.readings(device).map((r) => r.ts)
  } finally {
    db.close()
  }
}

it('a database deleted while running: /healthz 503 saying so, nothing acknowledged after it, and after a restart every reading sent since is stored', async () => {
  const cfg = await config()
  let daemon: CliProcess = await startDaemon(cfg.file)
  const s = await sensor(cfg, 'rm-sensor')
  const t0 = Date.now() - 600_000
  for (let i = 0; i < 20; i++) s.send('before', t0 + i)
  await waitFor(() => s.acked.length === 20, { what: '20 PUBACKs before the deletion' })
  expect(storedTimes(cfg, 'before')).toHaveLength(20)

  for (const suffix of ['', '-wal', '-shm']) rmSync(cfg.dbFile + suffix, { force: true })
  // Without traffic: the health check itself notices.
  const h = await waitFor(
    async () => {
      const r = await health(cfg)
      return r.code === 503 ? r : undefined
    },
    { what: '/healthz to fail' },
  )
  expect(h.body.checks.database?.ok).toBe(false)
  expect(h.body.checks.database?.reason).toMatch(/floxgate\.db was deleted or moved away/)

  for (let i = 0; i < 30; i++) s.send('after', t0 + 1000 + i)
  // Every one reached the store and was refused: a failed commit per attempt in the log.
  await daemon.waitForLog(/^store: commit failed, refusing new writes$/)
  // Each refused message drops its connection, so the sensor sends it again.
  const refused = await daemon.waitForLog(/^refused a client request: the database file/)
  expect(refused.reason).toBe('not-stored')
  expect(refused.msg).toMatch(/was deleted or moved away/)
  expect(s.acked.filter((ts) => ts >= t0 + 1000)).toEqual([])
  expect(daemon.logs.some((l) => /the database file changed/.test(l.msg))).toBe(true)

  // The operator restarts it: a fresh database at the path, and the sensor sends again.
  expect(await daemon.stop()).toBe(0)
  expect(s.acked.filter((ts) => ts >= t0 + 1000)).toEqual([])
  daemon = await startDaemon(cfg.file)
  await waitFor(() => s.acked.length === 50, {
    timeoutMs: 20_000,
    what: 'the 30 readings sent after the deletion to be acknowledged by the new daemon',
  })
  const after = Array.from({ length: 30 }, (_, i) => t0 + 1000 + i)
  expect(storedTimes(cfg, 'after')).toEqual(after)
  expect((await health(cfg)).code).toBe(200)
  await daemon.stop()
})

it('a database replaced by another file: refused and reported until the original is put back, then stored and acknowledged', async () => {
  const cfg = await config()
  const daemon = await startDaemon(cfg.file)
  const s = await sensor(cfg, 'mv-sensor')
  const t0 = Date.now() - 600_000
  s.send('swap', t0)
  await waitFor(() => s.acked.length === 1, { what: 'the first PUBACK' })

  const aside = join(cfg.dir, 'original.db')
  const copy = join(cfg.dir, 'copy.db')
  copyFileSync(cfg.dbFile, copy)
  renameSync(cfg.dbFile, aside)
  renameSync(copy, cfg.dbFile)
  s.send('swap', t0 + 1)
  const refused = await daemon.waitForLog(/^refused a client request: the database file/)
  expect(refused.msg).toMatch(/was replaced by another file \(inode \d+ is now \d+\)/)
  const h = await health(cfg)
  expect(h.code).toBe(503)
  expect(h.body.checks.database?.reason).toMatch(/replaced by another file/)
  expect(s.acked).toEqual([t0])

  // The original back at its path: the daemon's own file again, so commits count again.
  renameSync(aside, cfg.dbFile)
  await waitFor(() => s.acked.length === 2, {
    timeoutMs: 20_000,
    what: 'the second reading acknowledged once the file is back',
  })
  expect(storedTimes(cfg, 'swap')).toEqual([t0, t0 + 1])
  await waitFor(async () => (await health(cfg)).code === 200, { what: '/healthz 200 again' })
  await daemon.stop()
})

it("the database's WAL deleted while running: its last commits would go with it, so nothing more is acknowledged", async () => {
  const cfg = await config()
  const daemon = await startDaemon(cfg.file)
  const s = await sensor(cfg, 'wal-sensor')
  const t0 = Date.now() - 600_000
  s.send('wal', t0)
  await waitFor(() => s.acked.length === 1, { what: 'the first PUBACK' })
  rmSync(`${cfg.dbFile}-wal`)
  s.send('wal', t0 + 1)
  const refused = await daemon.waitForLog(/^refused a client request: the database file/)
  expect(refused.msg).toMatch(/was deleted or moved away \(its WAL, .*floxgate\.db-wal\)/)
  const h = await health(cfg)
  expect(h.code).toBe(503)
  expect(s.acked).toEqual([t0])
  await daemon.stop()
})

/** Making a file read-only for root needs the immutable attribute (root, ext4/xfs). */
function immutable(file: string, on: boolean): boolean {
  try {
    execFileSync('chattr', [on ? '+i' : '-i', file], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

it('a database that cannot be written at start: exit 3 with what to fix, never ready', async (ctx) => {
  const cfg = await config()
  const first = await startDaemon(cfg.file)
  expect(await first.stop()).toBe(0)
  if (!immutable(cfg.dbFile, true)) {
    ctx.skip('chattr +i needs root on a file system with attributes: not faked')
    return
  }
  try {
    const daemon = await startDaemon(cfg.file, { ready: false })
    const code = await withDeadline(daemon.exited, 15_000, 'the refused start')
    expect(code).toBe(3)
    expect(daemon.logs.some((l) => l.msg === 'floxgate is ready')).toBe(false)
    const out = daemon.stderr() + daemon.stdout()
    expect(out).toMatch(/FLX_ERR_STORE_READ_ONLY/)
    expect(out).toMatch(/opened read-only \(attempt to write a readonly database\)/)
  } finally {
    immutable(cfg.dbFile, false)
  }
})
