/**
 * Hostile clients against the real daemon (a child process on a loopback port): each
 * case of issue 9. After every case the daemon must be alive, its RSS bounded, and a
 * well-behaved sensor's QoS 1 reading acknowledged and stored (watched-daemon.ts).
 */
import Database from 'better-sqlite3'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import { startDaemon } from '../crash/daemon-process.js'
import {
  connackCode,
  connectPacket,
  publishPacket,
  rawConnect,
  subscribePacket,
} from '../helpers/raw-mqtt.js'
import { waitFor } from '../helpers/wait.js'
import { useWatchedDaemon } from './watched-daemon.js'

const w = useWatchedDaemon('floxgate-hostile-')

describe('hostile clients cannot crash the daemon', () => {
  it('(1) 300 CONNECTs with 50 KB client ids are refused and cost no memory', async () => {
    const longId = 'c'.repeat(50_000)
    for (let i = 0; i < 300; i += 30) {
      await Promise.all(
        Array.from({ length: 30 }, (_, j) =>
          w.withRaw(async (c) => {
            c.socket.write(connectPacket({ clientId: `${longId}${i + j}`, username: 'nobody' }))
            await waitFor(() => connackCode(c.received()) !== undefined || c.isClosed(), {
              what: 'CONNACK',
            })
            if (!c.isClosed()) expect(connackCode(c.received())).toBe(2)
          }),
        ),
      )
    }
    await w.isWell()
    // the log line carries a clipped id, never 50 KB
    const line = w.daemon.logs.find((l) => l.reason === 'bad-client-id')
    expect(String(line?.clientId).length).toBeLessThan(200)
  }, 60_000)

  it('(2) 200 devices with 40 KB ids are dead-lettered bad-device-id, not kept', async () => {
    const c = await rawConnect(w.port)
    c.socket.write(connectPacket({ clientId: 'long-ids' }))
    await waitFor(() => connackCode(c.received()) === 0, { what: 'CONNACK 0' })
    // 40 KB ids do not fit the 512-byte topic bound: refused at the broker (bad-topic)
    for (let i = 0; i < 5; i++) {
      c.socket.write(
        publishPacket(
          `sensors/${'d'.repeat(40_000)}${i}/telemetry`,
          Buffer.from('{"temperature":1}'),
        ),
      )
    }
    c.socket.destroy()
    // ids over 64 chars within the topic bound: bad-device-id in the parser
    const m = mqtt.connect({
      host: '127.0.0.1',
      port: w.port,
      clientId: 'mid-ids',
      reconnectPeriod: 0,
    })
    await new Promise<void>((r) => m.once('connect', () => r()))
    for (let i = 0; i < 200; i++) {
      await m.publishAsync(`sensors/${'e'.repeat(300)}${i}/telemetry`, '{"temperature":1}', {
        qos: 1,
      })
    }
    await m.endAsync(true)
    const db = new Database(w.dbFile, { readonly: true })
    const reasons = db
      .prepare(`SELECT reason, count(*) AS n FROM dead_letters GROUP BY reason`)
      .all() as { reason: string; n: number }[]
    const longSeries = db
      .prepare('SELECT count(*) AS n FROM series WHERE length(device) > 64')
      .get()
    db.close()
    expect(reasons.find((r) => r.reason === 'bad-device-id')?.n).toBe(200)
    expect(longSeries).toEqual({ n: 0 })
    await w.isWell()
  }, 60_000)

  it('(2) start survives a database holding 820 series and alerts of 40 KB ids', async () => {
    await w.sensor.endAsync(true)
    expect(await w.daemon.stop()).toBe(0)
    // What an older floxgate let a hostile client write (about 33 MB of ids).
    const db = new Database(w.dbFile)
    const series = db.prepare('INSERT INTO series (device, metric) VALUES (?, ?)')
    const alert = db.prepare(
      `INSERT INTO alert_state (device, metric, rule, gateway, kind, severity, value, threshold, since, ts)
       VALUES (?, '', 'silent', 'gw-crash', 'stale', 'warning', NULL, NULL, 0, 0)`,
    )
    db.transaction(() => {
      for (let i = 0; i < 820; i++) {
        const id = `${'x'.repeat(40_000)}${i}`
        series.run(id, 'temperature')
        alert.run(id)
      }
    })()
    db.close()
    w.daemon = await startDaemon(w.configFile)
    w.sensor = await w.connectSensor()
    await w.isWell()
  }, 60_000)

  it('(3) a subscriber that never reads is cut off; intake goes on', async () => {
    const slow = await rawConnect(w.port)
    slow.socket.write(connectPacket({ clientId: 'never-reads' }))
    await waitFor(() => connackCode(slow.received()) === 0, { what: 'CONNACK 0' })
    slow.socket.write(subscribePacket('#'))
    await waitFor(() => slow.received().length >= 9, { what: 'SUBACK' })
    slow.socket.pause() // stops reading: the kernel buffers fill, then floxgate's queue
    const flood = mqtt.connect({
      host: '127.0.0.1',
      port: w.port,
      clientId: 'flood',
      reconnectPeriod: 0,
    })
    await new Promise<void>((r) => flood.once('connect', () => r()))
    const big = Buffer.alloc(60_000, 0x61)
    // bounded: at most 40 MB routed to it before it must have been cut off
    const cut = () => w.daemon.logs.some((l) => l.reason === 'slow-consumer')
    for (let i = 0; i < 700 && !cut(); i++) {
      await flood.publishAsync('sensors/flood/telemetry', big, { qos: 1 })
    }
    await flood.endAsync(true)
    await waitFor(cut, { what: 'the slow consumer cut off' })
    // a paused socket sees the close only once it reads what was queued before it
    slow.socket.resume()
    await slow.closed
    await w.isWell()
  }, 90_000)

  it('(8) a QoS 1 message on a forbidden topic is acked once and the connection stays', async () => {
    await w.withRaw(async (c) => {
      c.socket.write(connectPacket({ clientId: 'forbidden' }))
      await waitFor(() => connackCode(c.received()) === 0, { what: 'CONNACK 0' })
      c.socket.write(publishPacket('floxgate/alerts/x/temperature', Buffer.from('{}'), 1, 7))
      // PUBACK of packet id 7
      await waitFor(
        () =>
          c
            .received()
            .subarray(4)
            .equals(Buffer.from([0x40, 2, 0, 7])),
        {
          what: 'PUBACK 7',
        },
      )
      expect(c.isClosed()).toBe(false)
    })
    await w.isWell()
  })

  it('(9) topics with U+0000 or invalid UTF-8 are refused, never stored as readings', async () => {
    await w.withRaw(async (c) => {
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
    const db = new Database(w.dbFile, { readonly: true })
    const rows = db.prepare(`SELECT count(*) AS n FROM series WHERE device LIKE 'a%b'`).get()
    const dl = db.prepare(`SELECT count(*) AS n FROM dead_letters WHERE reason = 'bad-topic'`).get()
    db.close()
    expect(rows).toEqual({ n: 0 })
    expect((dl as { n: number }).n).toBeGreaterThanOrEqual(2)
    await w.isWell()
  })
})
