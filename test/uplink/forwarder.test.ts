import { join } from 'node:path'
import type Database from 'better-sqlite3'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Forwarder, type ForwarderOptions, Outbox } from '../../src/uplink/index.js'
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import { insertRows, openOutboxDb, outboxCount } from './outbox-db.js'
import { checkSequence, subscribeUpstream, type Upstream } from './upstream.js'

let mosq: Mosquitto
let n = 0
const cleanups: (() => Promise<void> | void)[] = []

beforeAll(async () => {
  mosq = await startMosquitto()
})
afterAll(async () => {
  await mosq.close()
})
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A fresh outbox database, topic prefix and upstream subscriber for one test. */
async function setup(
  subscribe = true,
): Promise<{ db: Database.Database; prefix: string; up: Upstream | undefined }> {
  n++
  const { dir, cleanup } = tempDir('floxgate-uplink-')
  const db = openOutboxDb(join(dir, 'gw.db'))
  cleanups.push(cleanup, () => {
    db.close()
  })
  const prefix = `t${process.pid}-${n}`
  let up: Upstream | undefined
  if (subscribe) {
    up = await subscribeUpstream(mosq.url, prefix, `sub-${prefix}`)
    const u = up
    cleanups.push(() => u.close())
  }
  return { db, prefix, up }
}

function forwarder(
  db: Database.Database,
  o: Partial<ForwarderOptions> & { topicPrefix: string },
): Forwarder {
  const f = new Forwarder(new Outbox(db), {
    url: mosq.url,
    gatewayId: 'gw-test',
    version: '0.0.0-test',
    clientId: `fwd-${o.topicPrefix}`,
    reconnectInitialMs: 50,
    reconnectMaxMs: 500,
    ...o,
  })
  cleanups.push(() => f.stop())
  return f
}

describe('Forwarder', () => {
  it('forwards rows inserted before and during forwarding, in order, and drains the table', async () => {
    const { db, prefix, up } = await setup()
    insertRows(db, 0, 500)
    const f = forwarder(db, { topicPrefix: prefix, maxReplayPerSecond: 0, inflight: 32 })
    f.start()
    for (let i = 0; i < 10; i++) {
      await waitFor(() => up!.unique() >= 250 + i * 50, { what: `${250 + i * 50} rows upstream` })
      insertRows(db, 500 + i * 100, 100)
      f.notify()
    }
    await waitFor(() => up!.unique() === 1500, { what: 'all 1500 rows upstream' })
    await waitFor(() => outboxCount(db) === 0, { what: 'outbox drained' })
    const check = checkSequence(up!.received.map((r) => r.seq))
    expect(check).toEqual({ unique: 1500, duplicates: 0, gaps: [] })
    expect(up!.received[7]!.topic).toBe(`${prefix}/readings/dev3/temperature`)
    const s = f.stats()
    expect(s).toMatchObject({
      connected: true,
      sent: 1500,
      acked: 1500,
      resent: 0,
      backlogRows: 0,
      inflight: 0,
    })
    expect(f.health()).toEqual({ ok: true, reason: 'connected' })
  })

  it('speaks MQTT 5 as well', async () => {
    const { db, prefix, up } = await setup()
    insertRows(db, 0, 200)
    const f = forwarder(db, { topicPrefix: prefix, protocolVersion: 5 })
    f.start()
    await waitFor(() => outboxCount(db) === 0, { what: 'outbox drained' })
    await waitFor(() => up!.unique() === 200, { what: '200 rows upstream' })
    expect(checkSequence(up!.received.map((r) => r.seq)).gaps).toEqual([])
  })

  it('wakes up on notify() without waiting for the poll timer', async () => {
    const { db, prefix, up } = await setup()
    // A poll interval far longer than the test timeout: only notify() can deliver in time.
    const f = forwarder(db, { topicPrefix: prefix, pollIntervalMs: 600_000 })
    f.start()
    await waitFor(() => f.stats().connected, { what: 'connected' })
    insertRows(db, 0, 3)
    f.notify()
    await waitFor(() => up!.unique() === 3, { what: 'rows after notify', timeoutMs: 5000 })
  })

  it('publishes a retained online status, and offline on stop(); logs through pino', async () => {
    const { db, prefix, up } = await setup()
    const lines: string[] = []
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) })
    const f = forwarder(db, { topicPrefix: prefix, logger })
    f.start()
    await waitFor(() => up!.statuses.length >= 1, { what: 'online status' })
    // The one status shape of every connection (src/mqtt/status.ts).
    expect(up!.statuses[0]).toEqual({
      gateway: 'gw-test',
      state: 'online',
      version: '0.0.0-test',
      ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    })
    await f.stop()
    await waitFor(() => up!.statuses.length >= 2, { what: 'offline status' })
    expect(up!.statuses[1]!.state).toBe('offline')
    expect(f.health().ok).toBe(false)
    // Retained: a consumer that connects later still learns the state.
    const late = await subscribeUpstream(mosq.url, prefix, `late-${prefix}`)
    cleanups.push(() => late.close())
    await waitFor(() => late.statuses.length >= 1, { what: 'retained status' })
    expect(late.statuses[0]!.state).toBe('offline')
    const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg)
    expect(messages).toEqual(['uplink connected', 'uplink stopped'])
  })

  it('paces a backlog replay by maxReplayPerSecond', async () => {
    const { db, prefix, up } = await setup()
    const rows = 600
    const rate = 300
    insertRows(db, 0, rows)
    const f = forwarder(db, { topicPrefix: prefix, maxReplayPerSecond: rate, replayBurst: 10 })
    const t0 = performance.now()
    f.start()
    await waitFor(() => up!.unique() === rows, { what: 'paced replay done', timeoutMs: 30_000 })
    const elapsed = performance.now() - t0
    expect(checkSequence(up!.received.map((r) => r.seq)).gaps).toEqual([])
    // The bucket granted one token per row and can never grant more than burst + rate * t:
    // this bound follows from its decisions, not from how fast the machine is.
    expect(f.pacedPublishes).toBe(rows)
    expect(elapsed).toBeGreaterThanOrEqual(((rows - 10) / rate) * 1000)
  })

  it('deletes expired rows unsent while the upstream is down, and counts them', async () => {
    const { db } = await setup(false)
    const hourAgo = Date.now() - 3_600_000
    insertRows(db, 0, 1200, { createdAt: hourAgo })
    insertRows(db, 1200, 30)
    const deadPort = await freePort()
    const f = forwarder(db, {
      topicPrefix: 'unused',
      url: `mqtt://127.0.0.1:${deadPort}`,
      ttlMs: 60_000,
      pollIntervalMs: 20,
    })
    f.start()
    await waitFor(() => f.stats().expired === 1200, { what: '1200 rows expired' })
    const s = f.stats()
    expect(s.connected).toBe(false)
    expect(s.backlogRows).toBe(30)
    expect(s.lastError).toMatch(/ECONNREFUSED/)
    expect(s.connectAttempts).toBeGreaterThanOrEqual(1)
  })

  it('holds the TTL while the system clock cannot be trusted: every row goes up', async () => {
    const { db, prefix, up } = await setup()
    insertRows(db, 0, 50, { createdAt: Date.now() - 3_600_000 })
    let sane = false
    const f = forwarder(db, {
      topicPrefix: prefix,
      ttlMs: 60_000,
      pollIntervalMs: 20,
      clockSane: () => sane,
    })
    f.start()
    await waitFor(() => up!.received.length === 50, { what: '50 rows upstream, none expired' })
    expect(f.stats().expired).toBe(0)
    insertRows(db, 50, 10, { createdAt: Date.now() - 3_600_000 })
    sane = true // the same rows past the TTL now expire
    await waitFor(() => f.stats().expired === 10, {
      what: '10 rows expired once the clock is sane',
    })
  })

  it('skips expired rows met while sending and forwards the live ones in order', async () => {
    const { db, prefix, up } = await setup()
    const old = Date.now() - 3_600_000
    // Live and expired rows interleaved (a clock jump can do that): only live ones go up.
    for (let i = 0; i < 10; i++) {
      insertRows(db, i * 20, 10)
      insertRows(db, i * 20 + 10, 10, { createdAt: old })
    }
    const f = forwarder(db, { topicPrefix: prefix, ttlMs: 60_000, pollIntervalMs: 600_000 })
    f.start()
    await waitFor(() => outboxCount(db) === 0, { what: 'outbox drained' })
    await waitFor(() => up!.received.length === 100, { what: '100 live rows' })
    const seqs = up!.received.map((r) => r.seq)
    expect(seqs.every((s) => s % 20 < 10)).toBe(true)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(f.stats().expired).toBe(100)
  })

  it('stop() mid-drain waits for PUBACKs: acked rows are deleted, the rest stay', async () => {
    const { db, prefix, up } = await setup()
    insertRows(db, 0, 3000)
    const f = forwarder(db, { topicPrefix: prefix, maxReplayPerSecond: 3000 })
    f.start()
    await waitFor(() => up!.unique() >= 500, { what: '500 rows upstream' })
    await f.stop()
    const s = f.stats()
    expect(s.inflight).toBe(0)
    expect(s.resent).toBe(0)
    expect(s.backlogRows).toBe(3000 - s.acked)
    expect(s.backlogRows).toBeGreaterThan(0)
    // What left the table is exactly a prefix that reached the upstream.
    await waitFor(() => up!.unique() >= s.acked, { what: 'acked rows upstream' })
    expect(checkSequence(up!.received.map((r) => r.seq))).toMatchObject({
      unique: s.acked,
      gaps: [],
    })
  })

  it('reports unhealthy when the upstream stays unreachable or the lag grows', async () => {
    const { db, prefix } = await setup(false)
    const deadPort = await freePort()
    const down = forwarder(db, {
      topicPrefix: prefix,
      url: `mqtt://127.0.0.1:${deadPort}`,
      disconnectGraceMs: 0,
    })
    down.start()
    await waitFor(() => down.stats().lastError !== undefined, { what: 'a connect error' })
    await waitFor(() => !down.health().ok, { what: 'unhealthy' })
    expect(down.health().reason).toMatch(/upstream unreachable for \d+ s: .*ECONNREFUSED/)
    await down.stop()

    insertRows(db, 0, 50, { createdAt: Date.now() - 120_000 })
    const slow = forwarder(db, {
      topicPrefix: prefix,
      clientId: `slow-${prefix}`,
      maxReplayPerSecond: 1,
      replayBurst: 1,
      maxLagMs: 60_000,
    })
    slow.start()
    await waitFor(() => slow.stats().connected, { what: 'connected' })
    expect(slow.health()).toMatchObject({ ok: false })
    expect(slow.health().reason).toMatch(/oldest unsent row is 1\d\d s old \(limit 60 s\)/)
    expect(slow.stats().oldestAgeMs).toBeGreaterThanOrEqual(120_000)
  })

  it('refuses bad options with a message saying what to fix', async () => {
    const { db } = await setup(false)
    expect(
      () => new Forwarder(new Outbox(db), { url: 'http://x', gatewayId: 'g', version: 'v' }),
    ).toThrow(/FLX_ERR|mqtt:\/\/host:port/)
    expect(
      () =>
        new Forwarder(new Outbox(db), {
          url: 'mqtt://h',
          caFile: '/nonexistent/ca.pem',
          gatewayId: 'g',
          version: 'v',
        }),
    ).toThrow(/caFile/)
    expect(
      () =>
        new Forwarder(new Outbox(db), {
          url: 'mqtt://h',
          inflight: 0,
          gatewayId: 'g',
          version: 'v',
        }),
    ).toThrow(/inflight/)
    db.exec('DROP TABLE outbox')
    expect(
      () => new Forwarder(new Outbox(db), { url: 'mqtt://h', gatewayId: 'g', version: 'v' }),
    ).toThrow(/outbox/)
  })
})
