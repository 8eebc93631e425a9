/**
 * Hostile clients against the real daemon (a child process on a loopback port, under the
 * unit's heap cap): each case of issue 9 that needs no account. After every case the
 * daemon must be alive, its RSS under RSS_BOUND_MB, and a well-behaved sensor's QoS 1
 * reading acknowledged and stored (Target.isWell). Figures in the test names are what the
 * same attack did before the fix.
 */
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, metric, storedReadings } from '../crash/daemon-process.js'
import {
  connackCode,
  connectPacket,
  packetHeader,
  publishPacket,
  type RawClient,
  rawConnect,
  subscribePacket,
} from '../helpers/raw-mqtt.js'
import { waitFor } from '../helpers/wait.js'
import { peakRssMb, RSS_BOUND_MB, Target } from './target.js'

const MAX_CONNECTIONS = 400
let t: Target

function query<T>(sql: string): T[] {
  const db = new Database(t.dbFile, { readonly: true })
  try {
    return db.prepare(sql).all() as T[]
  } finally {
    db.close()
  }
}

const deadLetters = (reason: string) =>
  query<{ n: number }>(`SELECT count(*) AS n FROM dead_letters WHERE reason = '${reason}'`)[0]!.n

async function withRaw<T>(fn: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await rawConnect(t.port)
  try {
    return await fn(c)
  } finally {
    c.socket.destroy()
  }
}

async function connected(clientId: string): Promise<RawClient> {
  const c = await rawConnect(t.port)
  c.socket.write(connectPacket({ clientId }))
  await waitFor(() => connackCode(c.received()) === 0, { what: `CONNACK 0 for ${clientId}` })
  return c
}

beforeAll(async () => {
  ensureBuilt()
  t = await Target.start({
    // Every connection here comes from 127.0.0.1: the per-address bound is set to the
    // total so that the total's own test reaches it (address-slots.test.ts tests that one).
    embedded: { maxConnections: MAX_CONNECTIONS, maxConnectionsPerAddress: MAX_CONNECTIONS },
    topics: [{ preset: 'rtl_433' }],
  })
}, 60_000)

afterAll(async () => {
  await t?.cleanup()
})

describe('hostile clients cannot crash the daemon', () => {
  it('(2) 820 devices with 40 KB ids, from topics and payloads, are dead-lettered bad-device-id, never kept (before: heap OOM after 629-857)', async () => {
    const c = await connected('long-ids')
    // 40 KB ids do not fit the 512-byte topic bound: refused at the broker (bad-topic)
    for (let i = 0; i < 5; i++) {
      const topic = `sensors/${'d'.repeat(40_000)}${i}/telemetry`
      c.socket.write(publishPacket(topic, Buffer.from('{"temperature":1}'), 1, i + 1))
    }
    await waitFor(() => c.received().length >= 4 + 5 * 4, { what: 'five PUBACKs' })
    c.socket.destroy()
    // ids from the payload (rtl_433 builds `<model>-<id>`) and ids over 64 characters
    // within the topic bound: bad-device-id in the parser
    const m = await t.client({ clientId: 'payload-ids' })
    // 20 in flight at a time, as a client that does not wait for each PUBACK would send.
    const inWindows = async (n: number, send: (i: number) => Promise<unknown>) => {
      for (let i = 0; i < n; i += 20) {
        await Promise.all(Array.from({ length: Math.min(20, n - i) }, (_, k) => send(i + k)))
      }
    }
    await inWindows(820, (i) => {
      const event = { model: `${'m'.repeat(40_000)}${i}`, id: 1, temperature_C: 20 }
      return m.publishAsync('rtl_433/host/events', JSON.stringify(event), { qos: 1 })
    })
    await inWindows(200, (i) =>
      m.publishAsync(`sensors/${'e'.repeat(300)}${i}/telemetry`, '{"temperature":1}', { qos: 1 }),
    )
    expect(m.connected).toBe(true)
    await m.endAsync(true)
    expect(deadLetters('bad-topic')).toBe(5)
    expect(deadLetters('bad-device-id')).toBe(1020)
    expect(query('SELECT count(*) AS n FROM series WHERE length(device) > 64')).toEqual([{ n: 0 }])
    await t.isWell()
  }, 120_000)

  it('(2) start survives a database holding 820 series and alerts of 40 KB ids (before: 217 MB RSS at start)', async () => {
    expect(await t.stop()).toBe(0)
    // What an older floxgate let a hostile client write (about 33 MB of ids).
    const db = new Database(t.dbFile)
    const series = db.prepare('INSERT INTO series (device, metric) VALUES (?, ?)')
    const alert = db.prepare(
      `INSERT INTO alert_state (device, metric, rule, gateway, kind, severity, value, threshold, since, ts)
       VALUES (?, '', 'silent', 'gw-hostile', 'stale', 'warning', NULL, NULL, 0, 0)`,
    )
    db.transaction(() => {
      for (let i = 0; i < 820; i++) {
        const id = `${'x'.repeat(40_000)}${i}`
        series.run(id, 'temperature')
        alert.run(id)
      }
    })()
    db.close()
    await t.restart()
    await t.isWell()
  }, 60_000)

  it('(3) a subscriber on # that never reads is cut off while 5 sensors keep being stored (before: intake stalled 55 s)', async () => {
    const slow = await connected('never-reads')
    slow.socket.write(subscribePacket('#'))
    await waitFor(() => slow.received().length >= 9, { what: 'SUBACK' })
    slow.socket.pause() // stops reading: the kernel buffers fill, then floxgate's queue
    const cut = () => t.daemon.logs.some((l) => l.reason === 'slow-consumer')
    const flood = await t.client({ clientId: 'flood' })
    const big = Buffer.alloc(60_000, 0x61)
    const sensors = await Promise.all([1, 2, 3, 4, 5].map((k) => t.client({ clientId: `s${k}` })))
    // Each sensor's next reading waits for its PUBACK: none may wait on the slow client.
    const sent = [0, 0, 0, 0, 0]
    // distinct timestamps in the past hour: each reading is its own row
    const t0 = Date.now() - 3_600_000
    const report = sensors.map(async (s, k) => {
      while (!cut() || sent[k]! < 20) {
        sent[k]!++
        const reading = JSON.stringify({ temperature: 20, ts: t0 + sent[k]! })
        await s.publishAsync(`sensors/five-${k}/telemetry`, reading, { qos: 1 })
      }
    })
    // bounded: at most 42 MB routed to it before it must have been cut off
    for (let i = 0; i < 700 && !cut(); i++) {
      await flood.publishAsync('sensors/flood/telemetry', big, { qos: 1 })
    }
    await Promise.all(report)
    await waitFor(cut, { what: 'the slow consumer cut off' })
    for (let k = 0; k < 5; k++) expect(storedReadings(t.dbFile, `five-${k}`).size).toBe(sent[k])
    await flood.endAsync(true)
    for (const s of sensors) await s.endAsync(true)
    // a paused socket sees the close only once it reads what was queued before it
    slow.socket.resume()
    await slow.closed
    await t.isWell()
  }, 90_000)

  it('(8) a QoS 1 message on a forbidden topic is acked once and the connection stays', async () => {
    await withRaw(async (c) => {
      c.socket.write(connectPacket({ clientId: 'forbidden' }))
      await waitFor(() => connackCode(c.received()) === 0, { what: 'CONNACK 0' })
      c.socket.write(publishPacket('floxgate/alerts/x/temperature', Buffer.from('{}'), 1, 7))
      const puback = Buffer.from([0x40, 2, 0, 7])
      await waitFor(() => c.received().subarray(4).equals(puback), { what: 'PUBACK 7' })
      expect(c.isClosed()).toBe(false)
    })
    await t.isWell()
  })

  it('(8) a 2 MB QoS 1 message from MQTT.js is acked once and dead-lettered with its size and first bytes, not resent (before: 16 reconnects in 8 s, for ever)', async () => {
    const before = deadLetters('payload-too-large')
    const c = await t.client({ clientId: 'big-sensor', clean: false, reconnectPeriod: 100 })
    let closes = 0
    c.on('close', () => closes++)
    const payload = Buffer.concat([
      Buffer.from('{"temperature":21,"pad":"'),
      Buffer.alloc(2e6, 0x78),
    ])
    await c.publishAsync('sensors/big/telemetry', payload, { qos: 1 })
    const [row] = query<{ payload: Buffer; detail: string }>(
      `SELECT payload, detail FROM dead_letters WHERE reason = 'payload-too-large' ORDER BY id DESC LIMIT 1`,
    )
    expect(row?.detail).toContain(`(${payload.length} bytes)`)
    expect(row?.payload).toEqual(payload.subarray(0, 256))
    expect(deadLetters('payload-too-large')).toBe(before + 1)
    expect(c.connected).toBe(true)
    expect(closes).toBe(0)
    await c.endAsync(true)
    await t.isWell()
  }, 30_000)

  it('(8) 300 unfinished 1 MB packets hold no memory: CONNECTs are closed, PUBLISHes read past (before: 369 MB RSS)', async () => {
    const connects: RawClient[] = []
    const publishes: RawClient[] = []
    const topic = Buffer.from('\u0000\u0013sensors/p/telemetry\u0000\u0001')
    const sent = topic.length + 999_000
    try {
      for (let i = 0; i < 150; i++) {
        // an unfinished CONNECT: no credentials needed
        const c = await rawConnect(t.port)
        c.socket.write(Buffer.concat([packetHeader(0x10, 1_000_000), Buffer.alloc(999_000, 0x63)]))
        connects.push(c)
        // an unfinished QoS 1 PUBLISH of an accepted client
        const p = await connected(`unfinished-${i}`)
        p.socket.write(
          Buffer.concat([packetHeader(0x32, 1_000_000), topic, Buffer.alloc(999_000, 0x61)]),
        )
        publishes.push(p)
      }
      await waitFor(() => connects.every((c) => c.isClosed()), {
        what: 'the unfinished CONNECTs closed',
      })
      // Finished now: each PUBACK says the broker read all of it. The peak RSS (VmHWM)
      // covers the time they were unfinished.
      for (const p of publishes) p.socket.write(Buffer.alloc(1_000_000 - sent, 0x61))
      await waitFor(() => publishes.every((p) => p.received().length >= 8), {
        what: '150 PUBACKs',
        timeoutMs: 30_000,
      })
      expect(publishes.some((p) => p.isClosed())).toBe(false)
      expect(peakRssMb(t.pid)).toBeLessThan(RSS_BOUND_MB)
      await t.isWell()
    } finally {
      for (const c of [...connects, ...publishes]) c.socket.destroy()
    }
  }, 90_000)

  it('(8) a packet header announcing a 2 MiB CONNECT is refused without a crash (before this fix: exit 1 in 235 ms)', async () => {
    const refused = () => metric(t.httpPort, 'floxgate_refusals_total{reason="packet-too-large"}')
    const before = await refused()
    await withRaw(async (c) => {
      c.socket.write(packetHeader(0x10, 2 * 1024 * 1024))
      await new Promise<void>((r) => c.socket.write('x', () => r()))
      await c.closed
    })
    expect(await refused()).toBe(before + 1)
    await t.isWell()
  })

  it('(8) a SUBSCRIBE longer than 64 KiB closes the connection unread', async () => {
    const refused = () => metric(t.httpPort, 'floxgate_refusals_total{reason="packet-too-large"}')
    const before = await refused()
    const c = await connected('long-subscribe')
    c.socket.write(Buffer.concat([packetHeader(0x82, 70_000), Buffer.from([0, 1, 0x11, 0x0c])]))
    await c.closed
    expect(await refused()).toBe(before + 1)
    await t.isWell()
  })

  it('(9) topics with U+0000 or invalid UTF-8 are refused, never stored as readings', async () => {
    await withRaw(async (c) => {
      c.socket.write(connectPacket({ clientId: 'bad-utf8' }))
      await waitFor(() => connackCode(c.received()) === 0, { what: 'CONNACK 0' })
      const invalid = Buffer.concat([
        Buffer.from('sensors/'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('/telemetry'),
      ])
      c.socket.write(publishPacket(invalid, Buffer.from('{"temperature":1}'), 1, 1))
      c.socket.write(
        publishPacket('sensors/a\u0000b/telemetry', Buffer.from('{"temperature":1}'), 1, 2),
      )
      await waitFor(() => c.received().length >= 12, { what: 'two PUBACKs' })
    })
    expect(query(`SELECT count(*) AS n FROM series WHERE device LIKE 'a%b'`)).toEqual([{ n: 0 }])
    expect(deadLetters('bad-topic')).toBeGreaterThanOrEqual(2)
    await t.isWell()
  })

  it('(12) a date that does not exist is dead-lettered bad-timestamp, not stored as the next day', async () => {
    const c = await t.client({ clientId: 'dates' })
    await c.publishAsync(
      'sensors/dates/telemetry',
      JSON.stringify({ temperature: 21, ts: '2026-11-31T12:00:00Z' }),
      { qos: 1 },
    )
    await c.endAsync(true)
    expect(storedReadings(t.dbFile, 'dates').size).toBe(0)
    const [row] = query<{ detail: string }>(
      `SELECT detail FROM dead_letters WHERE reason = 'bad-timestamp' AND topic = 'sensors/dates/telemetry'`,
    )
    expect(row?.detail).toContain('"2026-11-31T12:00:00Z" is not epoch s/ms or ISO 8601')
    expect(row?.detail).toContain('on a date that exists')
    await t.isWell()
  })

  it(`at most ${MAX_CONNECTIONS} connections are open at once; more are closed at once and counted`, async () => {
    const idle: RawClient[] = []
    try {
      // the sensor holds one already
      for (let i = 0; i < MAX_CONNECTIONS + 20; i++) idle.push(await rawConnect(t.port))
      await waitFor(() => idle.filter((c) => c.isClosed()).length === 21, {
        what: 'the connections past the limit closed',
      })
      expect(idle.slice(0, MAX_CONNECTIONS - 1).some((c) => c.isClosed())).toBe(false)
      expect(
        await metric(t.httpPort, 'floxgate_refusals_total{reason="too-many-connections"}'),
      ).toBe(21)
      // the connected sensor is still served
      await t.sensor.publishAsync('sensors/still/telemetry', '{"temperature":20}', { qos: 1 })
      expect(storedReadings(t.dbFile, 'still').size).toBe(1)
    } finally {
      for (const c of idle) c.socket.destroy()
    }
    await waitFor(
      async () => {
        await (await t.client({ clientId: 'after' })).endAsync(true)
        return true
      },
      { what: 'a new client accepted once the others left' },
    )
    await t.isWell()
  }, 60_000)
})
