/**
 * `kind: thingsboard` against the contract of ThingsBoard's gateway MQTT API, played by a
 * real Mosquitto: a subscriber checks the topic and shape of every message the daemon
 * sends, through an outage of the broker and a reload that removes a device.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connectAsync, type MqttClient } from 'mqtt'
import { afterEach, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import { connectClient, startGateway, writeTestConfig } from '../daemon/harness.js'
import { startMosquitto } from '../helpers/mosquitto.js'
import { startTcpGate } from '../helpers/tcp-gate.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const TOKEN = 'tb-gateway-access-token-1'

interface Seen {
  readonly topic: string
  readonly body: unknown
}

type Entry = { ts: number; values: Record<string, unknown> }

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The shapes of ThingsBoard's gateway MQTT API: every message must be one of these, or the
 * test fails naming it.
 */
function checkShape(m: Seen, devices: ReadonlySet<string>): string | undefined {
  const b = m.body
  switch (m.topic) {
    case 'v1/gateway/connect':
    case 'v1/gateway/disconnect': {
      if (!isObject(b) || Object.keys(b).join() !== 'device') return 'expected {"device": name}'
      return typeof b.device === 'string' && devices.has(b.device) ? undefined : 'unknown device'
    }
    case 'v1/gateway/telemetry': {
      if (!isObject(b) || Object.keys(b).length === 0) return 'expected {"<device>": [...]}'
      for (const [device, list] of Object.entries(b)) {
        if (!devices.has(device)) return `unknown device ${device}`
        if (!Array.isArray(list) || list.length === 0) return 'expected a non-empty array'
        for (const e of list as unknown[]) {
          if (!isObject(e) || Object.keys(e).sort().join() !== 'ts,values')
            return 'expected {"ts", "values"}'
          if (!Number.isInteger(e.ts) || (e.ts as number) < 1e12) return 'ts must be ms'
          if (!isObject(e.values) || Object.keys(e.values).length === 0) return 'empty values'
          for (const v of Object.values(e.values)) {
            if (!['number', 'string', 'boolean'].includes(typeof v)) return `bad value ${v}`
          }
        }
      }
      return undefined
    }
    default:
      return `unexpected topic ${m.topic}`
  }
}

it('ThingsBoard gateway API: connect when first seen, telemetry shape, alerts, disconnect on removal, through an outage', async () => {
  // Only the gateway's access token may publish v1/gateway/#: a connection with any other
  // username would have its messages dropped (Mosquitto's ACL), and nothing would arrive.
  const { dir: aclDir, cleanup: aclCleanup } = tempDir('floxgate-tb-acl-')
  cleanups.push(aclCleanup)
  const acl = join(aclDir, 'acl')
  writeFileSync(acl, `topic read v1/gateway/#\nuser ${TOKEN}\ntopic readwrite v1/gateway/#\n`)
  const mosq = await startMosquitto({ extraConfig: [`acl_file ${acl}`] })
  cleanups.push(() => mosq.close())
  // The uplink reaches Mosquitto through a gate, so that after the restart it comes back
  // only once ThingsBoard's side has: Mosquitto 2.0 does not always queue for a persistent
  // session restored from its file before that client reconnects (eclipse-mosquitto
  // issues 769 and 3202; seen only here, the one test with an acl_file): all 20 readings
  // the uplink sent in between were acknowledged and never delivered, in 3 runs of many
  // under load. That is the broker's behaviour, not the uplink's, so the test orders it.
  const gate = await startTcpGate(mosq.port)
  cleanups.push(() => gate.close())

  // ThingsBoard's side: a persistent session, so the broker keeps what arrives for it
  // while it reconnects after the broker's restart.
  const seen: Seen[] = []
  const tb: MqttClient = await connectAsync(mosq.url, {
    clientId: 'thingsboard-contract',
    clean: false,
    reconnectPeriod: 200,
  })
  cleanups.push(() => tb.endAsync(true))
  tb.on('message', (topic, payload) => {
    seen.push({ topic, body: JSON.parse(payload.toString()) })
  })
  await tb.subscribeAsync('v1/gateway/#', { qos: 1 })

  const devices = [
    { id: 'gh-1', profile: 'dht22', location: 'greenhouse' },
    { id: 'gh-2', profile: 'dht22', location: 'greenhouse' },
  ]
  const cfg = await writeTestConfig({
    devices,
    rules: [{ id: 'too-hot', metric: 'temperature', high: 28, severity: 'critical' }],
    uplinks: [
      {
        id: 'tb',
        kind: 'thingsboard',
        url: `mqtt://127.0.0.1:${gate.port}`,
        username: TOKEN,
        streams: ['readings', 'alerts'],
      },
    ],
  })
  cleanups.push(() => cfg.cleanup())
  const gw = await startGateway(cfg.file)
  cleanups.push(() => gw.stop())
  const f = gw.gateway.forwarders[0]!
  const sensor = await connectClient(gw.port)
  cleanups.push(() => sensor.close())

  const published: { device: string; ts: number; temperature: number; humidity: number }[] = []
  const t0 = Date.now() - 10_000
  let n = 0
  async function publish(device: string, temperature: number): Promise<void> {
    const r = { device, ts: t0 + n++, temperature, humidity: 40 + (n % 10) }
    published.push(r)
    await sensor.client.publishAsync(
      `sensors/${device}/telemetry`,
      JSON.stringify({ temperature: r.temperature, humidity: r.humidity, ts: r.ts }),
      { qos: 1 },
    )
  }
  const telemetryRows = () =>
    seen
      .filter((m) => m.topic === 'v1/gateway/telemetry')
      .flatMap((m) =>
        Object.entries(m.body as Record<string, Entry[]>).flatMap(([device, list]) =>
          list.map((e) => ({ device, ...e })),
        ),
      )
  const readingTs = () =>
    new Set(
      telemetryRows()
        .filter((e) => 'temperature' in e.values)
        .map((e) => e.ts),
    )

  for (let i = 0; i < 20; i++) await publish(i % 2 === 0 ? 'gh-1' : 'gh-2', 20 + (i % 5))
  await waitFor(() => readingTs().size === 20, { what: 'the first 20 readings' })

  // The broker goes away; the sensors keep publishing, one of them too hot.
  gate.shut()
  await mosq.stop()
  await waitFor(() => !f.stats().connected, { what: 'the uplink sees the outage' })
  for (let i = 0; i < 20; i++) await publish(i % 2 === 0 ? 'gh-1' : 'gh-2', i === 7 ? 29.5 : 21)
  await waitFor(() => f.stats().backlogRows >= 20, { what: 'the backlog on disk' })
  // ThingsBoard's side back first, its session (and subscription) restored by Mosquitto,
  // then the uplink.
  const sessions: boolean[] = []
  tb.on('connect', (connack) => sessions.push(connack.sessionPresent))
  await mosq.start()
  await waitFor(() => sessions.length > 0, { what: "ThingsBoard's side reconnected" })
  expect(sessions).toEqual([true])
  expect(f.stats().connected).toBe(false)
  gate.open()
  await waitFor(() => readingTs().size === 40, {
    timeoutMs: 40_000,
    what: 'all 40 readings after the restart',
  }).catch((err: Error) => {
    throw new Error(
      `${err.message}; got ${readingTs().size}; uplink ${JSON.stringify(f.stats())}; subscriber sessionPresent on reconnect: ${JSON.stringify(sessions)}; mosquitto log: ${mosq.log().slice(-2000)}`,
    )
  })
  await waitFor(() => f.stats().backlogRows === 0, { what: 'the queue drained' })

  // A reload that removes gh-2: ThingsBoard hears it is gone.
  cfg.rewrite({ devices: devices.slice(0, 1) })
  gw.gateway.reload(loadConfig(cfg.file))
  await waitFor(() => seen.some((m) => m.topic === 'v1/gateway/disconnect'), {
    what: 'the disconnect',
  })

  // Every message has a documented topic and shape.
  const known = new Set(devices.map((d) => d.id))
  const bad = seen.map((m) => ({ m, why: checkShape(m, known) })).filter((x) => x.why)
  expect(bad).toEqual([])

  // A connect for each device before its first telemetry, on each connection: the first
  // and the one after the restart (the outage lost the session's announcements).
  const connects = seen.filter((m) => m.topic === 'v1/gateway/connect')
  for (const d of known) {
    const firstConnect = seen.findIndex(
      (m) => m.topic === 'v1/gateway/connect' && (m.body as { device: string }).device === d,
    )
    const firstData = seen.findIndex(
      (m) => m.topic === 'v1/gateway/telemetry' && d in (m.body as Record<string, unknown>),
    )
    expect(firstConnect).toBeGreaterThanOrEqual(0)
    expect(firstConnect).toBeLessThan(firstData)
    const count = connects.filter((m) => (m.body as { device: string }).device === d).length
    expect(count).toBeGreaterThanOrEqual(2)
    expect(count).toBeLessThanOrEqual(f.stats().reconnects + 1)
  }

  // Every reading, with its values under its device and time, in order per device.
  const rows = telemetryRows().filter((e) => 'temperature' in e.values)
  for (const d of known) {
    const want = published.filter((p) => p.device === d)
    const got = rows.filter((r) => r.device === d)
    const firsts: number[] = []
    for (const r of got) if (!firsts.includes(r.ts)) firsts.push(r.ts)
    expect(firsts).toEqual(want.map((p) => p.ts))
    for (const p of want) {
      const v = got.find((r) => r.ts === p.ts)?.values ?? {}
      expect({ temperature: v.temperature, humidity: v.humidity }).toEqual({
        temperature: p.temperature,
        humidity: p.humidity,
      })
    }
  }

  // The alert: telemetry keys alert.<rule>, at the reading's time, under its device.
  const hot = published.filter((p) => p.temperature > 28)
  expect(hot).toHaveLength(1)
  // (It may share the entry of the reading that raised it: same device, same time.)
  const alert = telemetryRows().find((e) => 'alert.too-hot' in e.values)
  expect(alert).toMatchObject({ device: hot[0]!.device, ts: hot[0]!.ts })
  expect(
    Object.fromEntries(Object.entries(alert!.values).filter(([k]) => k.startsWith('alert.'))),
  ).toEqual({
    'alert.too-hot': 'raised',
    'alert.too-hot.severity': 'critical',
    'alert.too-hot.value': 29.5,
  })

  const disconnects = seen.filter((m) => m.topic === 'v1/gateway/disconnect')
  expect(disconnects.map((m) => m.body)).toEqual([{ device: 'gh-2' }])
  expect(seen.at(-1)?.topic).toBe('v1/gateway/disconnect')
}, 90_000)

it('alertsAs: attributes sends raise and clear as device attributes, not telemetry', async () => {
  const mosq = await startMosquitto()
  cleanups.push(() => mosq.close())
  const seen: Seen[] = []
  const tb = await connectAsync(mosq.url, { clientId: 'thingsboard-attributes' })
  cleanups.push(() => tb.endAsync(true))
  tb.on('message', (topic, payload) => seen.push({ topic, body: JSON.parse(payload.toString()) }))
  await tb.subscribeAsync('v1/gateway/#', { qos: 1 })

  const cfg = await writeTestConfig({
    devices: [{ id: 'gh-1', profile: 'dht22' }],
    rules: [
      { id: 'too-hot', metric: 'temperature', high: 28, severity: 'critical' },
      { id: 'silent', staleSeconds: 1, severity: 'warning' },
    ],
    alerts: { staleCheckSeconds: 0.2 },
    uplinks: [
      {
        id: 'tb',
        kind: 'thingsboard',
        url: mosq.url,
        username: TOKEN,
        streams: ['readings', 'alerts'],
        alertsAs: 'attributes',
      },
    ],
  })
  cleanups.push(() => cfg.cleanup())
  const gw = await startGateway(cfg.file)
  cleanups.push(() => gw.stop())
  const sensor = await connectClient(gw.port)
  cleanups.push(() => sensor.close())
  const t0 = Date.now() - 5000
  for (const [i, temperature] of [29.5, 21].entries()) {
    await sensor.client.publishAsync(
      'sensors/gh-1/telemetry',
      JSON.stringify({ temperature, ts: t0 + i }),
      { qos: 1 },
    )
  }
  // Then silence: the stale rule raises an alert without a value. (On a slow machine the
  // device can go stale before its first reading too: wait for a raise after the clear.)
  const attributes = () =>
    seen
      .filter((m) => m.topic === 'v1/gateway/attributes')
      .map((m) => (m.body as Record<string, Record<string, unknown>>)['gh-1'] ?? {})
  const staleAfterClear = () => {
    const all = attributes()
    const cleared = all.findIndex((a) => a['alert.too-hot'] === 'cleared')
    return cleared < 0 ? undefined : all.slice(cleared).find((a) => a['alert.silent'] === 'raised')
  }
  const stale = await waitFor(staleAfterClear, { what: 'the stale alert after the clear' })

  const all = attributes()
  expect(all.find((a) => a['alert.too-hot'] === 'raised')).toMatchObject({
    'alert.too-hot.severity': 'critical',
    'alert.too-hot.value': 29.5,
    'alert.too-hot.since': t0,
  })
  expect(all.find((a) => a['alert.too-hot'] === 'cleared')).toMatchObject({
    'alert.too-hot.value': 21,
    'alert.too-hot.since': t0,
  })
  expect(stale['alert.silent.severity']).toBe('warning')
  expect('alert.silent.value' in stale).toBe(false)
  for (const m of seen.filter((x) => x.topic === 'v1/gateway/attributes')) {
    expect(Object.keys(m.body as object)).toEqual(['gh-1'])
    for (const v of Object.values((m.body as Record<string, Record<string, unknown>>)['gh-1']!))
      expect(['number', 'string', 'boolean']).toContain(typeof v)
  }
  // Telemetry carries the readings only.
  const telemetry = seen.filter((m) => m.topic === 'v1/gateway/telemetry')
  expect(telemetry.length).toBeGreaterThan(0)
  for (const m of telemetry)
    for (const e of (m.body as Record<string, Entry[]>)['gh-1'] ?? [])
      expect(Object.keys(e.values).filter((k) => k.startsWith('alert'))).toEqual([])
})
