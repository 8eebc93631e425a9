import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { Forwarder, Outbox } from '../../src/uplink/index.js'
import { startMosquitto } from '../helpers/mosquitto.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import { insertRows, openOutboxDb, outboxCount } from './outbox-db.js'
import { checkSequence, subscribeUpstream } from './upstream.js'

const cleanups: (() => Promise<void> | void)[] = []
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

it('buffers through two upstream outages and delivers everything in order, without gaps', async () => {
  // Mosquitto drops to user `mosquitto` when started as root and then cannot write its
  // persistence file in our temp folder: the consumer's session would not survive a restart.
  const mosq = await startMosquitto()
  cleanups.push(() => mosq.close())
  const { dir, cleanup } = tempDir('floxgate-uplink-outage-')
  const db = openOutboxDb(join(dir, 'gw.db'))
  cleanups.push(cleanup, () => {
    db.close()
  })
  // Persistent session: Mosquitto keeps for the consumer what arrives while it reconnects.
  // It reconnects slowly on purpose: the forwarder is back first and publishes into the
  // consumer's offline session.
  const up = await subscribeUpstream(mosq.url, 'site', 'consumer-outage', 700)
  cleanups.push(() => up.close())
  const inflight = 64
  const f = new Forwarder(new Outbox(db), {
    url: mosq.url,
    gatewayId: 'gw-outage',
    version: 'test',
    topicPrefix: 'site',
    inflight,
    maxReplayPerSecond: 0,
    reconnectInitialMs: 50,
    reconnectMaxMs: 400,
  })
  cleanups.push(() => f.stop())
  f.start()

  // The sensors keep producing through the outages: 10 rows every 5 ms, 6000 rows in all.
  const total = 6000
  let inserted = 0
  const producer = setInterval(() => {
    const k = Math.min(10, total - inserted)
    if (k > 0) {
      insertRows(db, inserted, k)
      inserted += k
      f.notify()
    }
  }, 5)
  cleanups.push(() => clearInterval(producer))

  for (const afterRows of [800, 2500]) {
    await waitFor(() => up.unique() >= afterRows, { what: `${afterRows} rows upstream` })
    await mosq.stop()
    await waitFor(() => !f.stats().connected, { what: 'forwarder sees the outage' })
    const atStop = inserted
    // Rows pile up in the outbox while the upstream is down.
    await waitFor(() => inserted >= Math.min(total, atStop + 600), {
      what: 'rows produced during outage',
    })
    const during = f.stats()
    expect(during.connected).toBe(false)
    expect(during.backlogRows).toBeGreaterThanOrEqual(Math.min(total, atStop + 600) - atStop)
    expect(f.health().reason).toMatch(/connecting|unreachable/)
    await mosq.start()
  }

  await waitFor(() => inserted === total, { what: 'producer done' })
  await waitFor(() => up.unique() === total, {
    what: `all ${total} rows upstream`,
    timeoutMs: 30_000,
  })
  await waitFor(() => outboxCount(db) === 0, { what: 'outbox drained' })

  // The consumer's session survived both restarts, so the broker kept whatever arrived
  // before the consumer was back: any gap below would be the forwarder's.
  expect(up.sessions.slice(1).length).toBeGreaterThanOrEqual(2)
  expect(up.sessions.slice(1).every(Boolean)).toBe(true)
  const check = checkSequence(up.received.map((r) => r.seq))
  expect(check.gaps).toEqual([])
  expect(check.unique).toBe(total)
  const s = f.stats()
  expect(s.reconnects).toBeGreaterThanOrEqual(2)
  // Each lost connection re-sends at most what was in flight: the window bounds duplicates.
  expect(s.resent).toBeLessThanOrEqual(inflight * s.reconnects)
  // Duplicates the consumer saw come from our re-sends, or from Mosquitto's own redelivery
  // to the consumer (flagged dup).
  const ours = up.received.length - new Set(up.received.map((r) => r.seq)).size
  const redelivered = up.received.filter((r) => r.dup).length
  expect(ours).toBeLessThanOrEqual(s.resent + redelivered)
  expect(s.acked).toBeGreaterThanOrEqual(total)
})

/** Pid of the process listening on a loopback port (as root, `ss` names it). */
function listenerPid(port: number): number {
  const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`]).toString()
  const m = /pid=(\d+)/.exec(out)
  if (m === null) throw new Error(`no process found listening on ${port}: ${out}`)
  return Number(m[1])
}

it('gives up on a broker that stops acknowledging, and resends once it is back', async () => {
  const mosq = await startMosquitto()
  cleanups.push(() => mosq.close())
  const { dir, cleanup } = tempDir('floxgate-uplink-hang-')
  const db = openOutboxDb(join(dir, 'gw.db'))
  cleanups.push(cleanup, () => {
    db.close()
  })
  const f = new Forwarder(new Outbox(db), {
    url: mosq.url,
    gatewayId: 'gw-hang',
    version: 'test',
    topicPrefix: 'hang',
    ackTimeoutMs: 300,
    pollIntervalMs: 50,
    keepaliveSeconds: 600, // so only the PUBACK timeout can notice
    connectTimeoutMs: 1000,
    reconnectInitialMs: 50,
    reconnectMaxMs: 200,
  })
  cleanups.push(() => f.stop())
  f.start()
  insertRows(db, 0, 10)
  f.notify()
  await waitFor(() => outboxCount(db) === 0, { what: 'first rows delivered' })

  // A frozen broker: the TCP connection stays open, nothing is acknowledged.
  const pid = listenerPid(mosq.port)
  process.kill(pid, 'SIGSTOP')
  try {
    insertRows(db, 10, 50)
    f.notify()
    await waitFor(() => /no PUBACK/.test(f.stats().lastError ?? ''), { what: 'PUBACK timeout' })
    expect(outboxCount(db)).toBe(50)
  } finally {
    process.kill(pid, 'SIGCONT')
  }
  await waitFor(() => outboxCount(db) === 0, { what: 'rows delivered after the broker thawed' })
  const s = f.stats()
  expect(s.reconnects).toBeGreaterThanOrEqual(1)
  expect(s.acked).toBeGreaterThanOrEqual(60)
})
