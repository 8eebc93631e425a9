/**
 * The gateway's own clock, through the real daemon (`floxgate start` as a child process)
 * and the machine's real clock, which a test must not set: the database is seeded before
 * the start with a reading received after "now", so to the daemon its clock reads before
 * a time known to have passed, as a Pi's does after a boot without an RTC. The logic of
 * recovery after a long time (a clock stepped forward by days) is covered with injected
 * clocks in test/ops/clock-sanity.test.ts.
 */
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/index.js'
import { freePort } from '../helpers/net.js'
import { waitFor } from '../helpers/wait.js'
import { type Receiver, startReceiver } from '../notify/receiver.js'
import { type CliProcess, killAll, startDaemon } from './cli-process.js'
import {
  connectClient,
  openReader,
  type TestConfig,
  telemetry,
  writeTestConfig,
} from './harness.js'

const YEAR_MS = 365 * 86_400_000

let cfg: TestConfig | undefined
let receiver: Receiver | undefined
afterEach(async () => {
  await killAll()
  await receiver?.close()
  cfg?.cleanup()
  cfg = receiver = undefined
})

/** A database like one the daemon left, whose newest reading was received at `at`. */
function seedReceivedAt(file: string, at: number): void {
  openStore({ file }).close()
  const db = new Database(file)
  db.prepare("INSERT INTO series (id, device, metric) VALUES (1, 'attic', 'temperature')").run()
  db.prepare('INSERT INTO readings (ts, series, value, recv_delay) VALUES (?, 1, 20.5, 0)').run(at)
  db.close()
}

/**
 * Held decisions show up fast here: a 1 s stale rule, 1 s windows closed on the clock and
 * a reminder every 600 ms to a webhook on `hookPort`.
 */
async function insaneDaemon(
  receivedAt: number,
  hookPort: number,
): Promise<{ daemon: CliProcess; base: string }> {
  cfg = await writeTestConfig({
    log: { level: 'info' },
    http: { enabled: true },
    devices: [{ id: 'quiet', profile: 'dht22' }],
    rules: [
      { id: 'silent', staleSeconds: 1, severity: 'warning' },
      { id: 'overheat', metric: 'temperature', high: 30, repeatMinutes: 0.01 },
    ],
    alerts: { staleCheckSeconds: 1 },
    aggregates: { windowSeconds: 1, graceSeconds: 0 },
    notify: [
      {
        id: 'ops',
        webhook: { url: `http://127.0.0.1:${hookPort}/hook` },
        retry: { initialSeconds: 0.05, maxSeconds: 0.2 },
      },
    ],
  })
  seedReceivedAt(cfg.dbFile, receivedAt)
  const daemon = await startDaemon(cfg.file)
  return { daemon, base: `http://127.0.0.1:${cfg.httpPort}` }
}

interface Health {
  readonly status: string
  readonly checks: Record<string, { ok: boolean; reason?: string; detail?: string }>
}

async function health(base: string): Promise<{ status: number; body: Health }> {
  const res = await fetch(`${base}/healthz`)
  return { status: res.status, body: (await res.json()) as Health }
}

async function clockSaneMetric(base: string): Promise<string | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text()
  return /^floxgate_clock_sane (\S+)$/m.exec(text)?.[1]
}

describe('a system clock before the newest stored receive time', () => {
  it('is reported on /healthz with what to do, as floxgate_clock_sane 0 and in one log line; a reading without a timestamp is stored after what is stored', async () => {
    const future = Date.now() + YEAR_MS
    const { daemon, base } = await insaneDaemon(future, await freePort())

    const h = await health(base)
    expect(h.status).toBe(503)
    expect(h.body.checks.clock?.ok).toBe(false)
    expect(h.body.checks.clock?.reason).toMatch(
      new RegExp(
        `^system clock is \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, before the newest receive time stored in the database ${new Date(future).toISOString()}; is time sync running\\? \\(systemd-timesyncd / chrony`,
      ),
    )
    // Every other check is fine: the clock is what is wrong.
    expect(
      Object.entries(h.body.checks)
        .filter(([, c]) => !c.ok)
        .map(([n]) => n),
    ).toEqual(['clock'])
    expect(await clockSaneMetric(base)).toBe('0')
    const insane = daemon.logs.filter((l) => /^system clock is .*, before /.test(l.msg))
    expect(insane).toHaveLength(1)
    expect(insane[0]).toMatchObject({ level: 40, notBefore: new Date(future).toISOString() })

    // No sensor timestamp: stamped with the earliest the time can be (after what is
    // stored), not 1970 or a year back, which retention and the outbox TTL would drop.
    const sensor = await connectClient(cfg!.brokerPort)
    await sensor.client.publishAsync('sensors/attic/telemetry', '{"temperature": 21.5}', { qos: 1 })
    await sensor.close()
    const db = openReader(cfg!.dbFile)
    const rows = db.readings('attic')
    db.close()
    expect(rows.map((r) => r.value)).toEqual([20.5, 21.5])
    expect(rows[1]!.ts).toBeGreaterThanOrEqual(future)
    expect(await clockSaneMetric(base)).toBe('0')
  })

  it('holds the stale rule, window closes and reminders until the clock passes it, then they run and /healthz clears', async () => {
    // About 5 s after the daemon is ready the clock passes this (less the 5 s tolerance);
    // without the hold the 1 s stale rule would fire, the window close and a reminder go
    // out within 2 s.
    const hookPort = await freePort()
    receiver = await startReceiver(hookPort)
    const ahead = Date.now() + 12_000
    const { daemon, base } = await insaneDaemon(ahead, hookPort)
    expect((await health(base)).body.checks.clock?.ok).toBe(false)

    const arrivals: { topic: string; at: number; body: Record<string, unknown> }[] = []
    const watcher = await connectClient(cfg!.brokerPort)
    watcher.client.on('message', (topic, payload) => {
      arrivals.push({ topic, at: Date.now(), body: JSON.parse(payload.toString()) })
    })
    await watcher.client.subscribeAsync(['floxgate/alerts/#', 'floxgate/aggregates/#'], { qos: 1 })
    // Readings with a sensor timestamp fill one 1 s window of sensor time.
    const sensor = await connectClient(cfg!.brokerPort)
    const t0 = Date.now()
    for (const [i, v] of [21, 23, 22].entries()) {
      await sensor.client.publishAsync(
        'sensors/attic/telemetry',
        telemetry({ temperature: v }, t0 + i),
        {
          qos: 1,
        },
      )
    }
    // A raise on a reading is not a decision on the clock: notified at once.
    await sensor.client.publishAsync('sensors/loft/telemetry', telemetry({ temperature: 31 }, t0), {
      qos: 1,
    })
    await sensor.close()
    const hook = () => receiver!.json<{ rule: string; reminder?: boolean; ts: number }>('/hook')
    await waitFor(() => hook().find((d) => d.rule === 'overheat'), { what: 'the raise notified' })

    const recovered = await daemon.waitForLog(/^system clock is sane again/, 30_000)
    const recoveredAt = Date.parse(String(recovered.clock))
    expect(recovered).toMatchObject({ level: 30, estimatedTimes: 4 }) // the four readings
    const stale = await waitFor(
      () => arrivals.find((a) => a.topic === 'floxgate/alerts/quiet/any/silent'),
      { timeoutMs: 10_000, what: 'the stale raise once the clock is sane' },
    )
    const window = await waitFor(
      () => arrivals.find((a) => a.topic === 'floxgate/aggregates/attic/temperature'),
      { timeoutMs: 10_000, what: 'the window closed by the clock once it is sane' },
    )
    // Neither was decided while the clock was insane.
    expect(stale.body).toMatchObject({ state: 'raised', device: 'quiet' })
    expect(stale.body.ts as number).toBeGreaterThanOrEqual(recoveredAt)
    expect(stale.at).toBeGreaterThanOrEqual(recoveredAt)
    expect(window.body).toMatchObject({ count: 3, min: 21, max: 23 })
    expect(window.at).toBeGreaterThanOrEqual(recoveredAt)
    await waitFor(() => hook().some((d) => d.reminder === true), {
      what: 'a reminder once the clock is sane',
    })
    // Requests in order: the raise, then (after the recovery only) reminders of it and
    // stale raises (every device the stale rule covers, each sink notified), in any order.
    const sent = receiver!.requests.filter((r) => r.path === '/hook')
    expect(JSON.parse(sent[0]!.body)).toMatchObject({ rule: 'overheat', state: 'raised' })
    expect(sent[0]!.at).toBeLessThan(recoveredAt)
    for (const r of sent.slice(1)) {
      const doc = JSON.parse(r.body) as { rule: string; reminder?: boolean }
      if (doc.rule === 'overheat') expect(doc).toMatchObject({ reminder: true })
      else expect(doc).toMatchObject({ rule: 'silent', state: 'raised' })
      expect(r.at).toBeGreaterThanOrEqual(recoveredAt)
    }
    await watcher.close()

    const h = await health(base)
    expect(h.status).toBe(200)
    expect(h.body.checks.clock).toMatchObject({ ok: true })
    expect(await clockSaneMetric(base)).toBe('1')
    expect(daemon.logs.filter((l) => /^system clock is/.test(l.msg))).toHaveLength(2)
  })
})
