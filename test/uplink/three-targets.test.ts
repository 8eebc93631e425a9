/**
 * The three uplink kinds side by side in one gateway (floxgate JSON over MQTT, InfluxDB,
 * ThingsBoard), each taken down in turn while the sensors keep publishing: nothing lost,
 * order kept per device, and a dead target holds back none of the others.
 */
import { connectAsync, type MqttClient } from 'mqtt'
import { afterEach, expect, it } from 'vitest'
import { connectClient, startGateway, writeTestConfig } from '../daemon/harness.js'
import { rowsOf, startInfluxDB } from '../helpers/influxdb.js'
import { startMosquitto } from '../helpers/mosquitto.js'
import { sampleSum } from '../helpers/prometheus.js'
import { waitFor } from '../helpers/wait.js'
import { influxProxy, parseLine } from './influx-proxy.js'
import { checkSequence } from './upstream.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A persistent-session subscriber that records (device, ts) of what it receives. */
async function recorder(
  url: string,
  filter: string,
  clientId: string,
  parse: (topic: string, body: unknown) => { device: string; ts: number }[],
): Promise<{ client: MqttClient; got: { device: string; ts: number }[] }> {
  const client = await connectAsync(url, { clientId, clean: false, reconnectPeriod: 200 })
  cleanups.push(() => client.endAsync(true))
  const got: { device: string; ts: number }[] = []
  client.on('message', (topic, payload) => {
    got.push(...parse(topic, JSON.parse(payload.toString())))
  })
  await client.subscribeAsync(filter, { qos: 1 })
  return { client, got }
}

/** Per device: the first appearances of its timestamps must be exactly what was sent. */
function perDeviceOrder(got: readonly { device: string; ts: number }[]): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const g of got) {
    const list = out.get(g.device) ?? []
    list.push(g.ts)
    out.set(g.device, list)
  }
  return out
}

it('mqtt, influxdb and thingsboard uplinks in one gateway, each through an outage: nothing lost, order kept, none held back', async () => {
  const cloud = await startMosquitto()
  cleanups.push(() => cloud.close())
  const tbBroker = await startMosquitto()
  cleanups.push(() => tbBroker.close())
  const influx = await startInfluxDB()
  cleanups.push(() => influx.close())
  await influx.query('CREATE DATABASE floxgate')
  const proxy = await influxProxy(influx.url)
  cleanups.push(() => proxy.close())

  const mqttSeen = await recorder(cloud.url, 'site/readings/#', 'cloud-consumer', (_t, b) => {
    const r = b as { device: string; ts: number }
    return [{ device: r.device, ts: r.ts }]
  })
  const tbSeen = await recorder(tbBroker.url, 'v1/gateway/telemetry', 'tb-consumer', (_t, b) =>
    Object.entries(b as Record<string, { ts: number }[]>).flatMap(([device, list]) =>
      list.map((e) => ({ device, ts: e.ts })),
    ),
  )
  const influxSeen = () =>
    proxy.writes
      .filter((w) => w.status === 204)
      .flatMap((w) => w.lines.map(parseLine))
      .map((p) => ({ device: p.tags.device ?? '', ts: p.ts }))

  const cfg = await writeTestConfig({
    uplinks: [
      { id: 'cloud', kind: 'mqtt', url: cloud.url, topicPrefix: 'site', streams: ['readings'] },
      {
        id: 'tsdb',
        kind: 'influxdb',
        url: proxy.url,
        database: 'floxgate',
        streams: ['readings'],
        batchSize: 200,
        batchDelayMs: 100,
      },
      {
        id: 'tb',
        kind: 'thingsboard',
        url: tbBroker.url,
        username: 'tb-token',
        streams: ['readings'],
      },
    ],
  })
  cleanups.push(() => cfg.cleanup())
  const gw = await startGateway(cfg.file)
  cleanups.push(() => gw.stop())
  const byId = Object.fromEntries(gw.gateway.forwarders.map((f) => [f.id, f]))
  const sensor = await connectClient(gw.port)
  cleanups.push(() => sensor.close())

  // Three devices, one temperature reading every 10 ms in turn, until told to stop.
  const devices = ['d0', 'd1', 'd2']
  const t0 = Date.now() - 60_000
  const sent: { device: string; ts: number }[] = []
  let producing = true
  const producer = (async () => {
    for (let i = 0; producing; i++) {
      const device = devices[i % devices.length]!
      const ts = t0 + i
      await sensor.client.publishAsync(
        `sensors/${device}/telemetry`,
        JSON.stringify({ temperature: 20 + (i % 10) / 10, ts }),
        { qos: 1 },
      )
      sent.push({ device, ts })
      await new Promise((r) => setTimeout(r, 10))
    }
  })()
  cleanups.push(async () => {
    producing = false
    await producer
  })

  const counts = () => ({
    cloud: new Set(mqttSeen.got.map((g) => `${g.device}/${g.ts}`)).size,
    tsdb: new Set(influxSeen().map((g) => `${g.device}/${g.ts}`)).size,
    tb: new Set(tbSeen.got.map((g) => `${g.device}/${g.ts}`)).size,
  })
  await waitFor(() => Object.values(counts()).every((n) => n >= 100), {
    timeoutMs: 30_000,
    what: 'readings flowing to all three',
  })

  const outages: {
    id: 'cloud' | 'tsdb' | 'tb'
    stop: () => Promise<void>
    start: () => Promise<void>
  }[] = [
    { id: 'cloud', stop: () => cloud.stop(), start: () => cloud.start() },
    { id: 'tsdb', stop: () => influx.stop(), start: () => influx.start() },
    { id: 'tb', stop: () => tbBroker.stop(), start: () => tbBroker.start() },
  ]
  for (const o of outages) {
    const f = byId[o.id]!
    await o.stop()
    await waitFor(() => !f.stats().connected, {
      timeoutMs: 20_000,
      what: `${o.id} sees its outage`,
    })
    const before = counts()
    const sentBefore = sent.length
    // The others keep receiving while this one is down: 150 new readings each.
    await waitFor(
      () => {
        const now = counts()
        return outages.every((x) => x.id === o.id || now[x.id] >= before[x.id] + 150)
      },
      { timeoutMs: 30_000, what: `the other uplinks keep up while ${o.id} is down` },
    )
    // The dead one's copies stay in its own queue: none of them was deleted.
    expect(f.stats().connected).toBe(false)
    expect(f.stats().backlogRows).toBeGreaterThanOrEqual(sent.length - sentBefore - 5)
    for (const x of outages)
      if (x.id !== o.id) expect(byId[x.id]!.stats().backlogRows).toBeLessThan(400)
    // /metrics names the uplink that lags instead of summing it with the two that keep up.
    const text = await gw.metrics.text()
    const backlog = (id: string) => sampleSum(text, `floxgate_uplink_backlog_rows{uplink="${id}"}`)
    expect(backlog(o.id)).toBeGreaterThanOrEqual(sent.length - sentBefore - 5)
    for (const x of outages) if (x.id !== o.id) expect(backlog(x.id)).toBeLessThan(400)
    expect(sampleSum(text, `floxgate_uplink_lag_seconds{uplink="${o.id}"}`)).toBeGreaterThan(0)
    await o.start()
    await waitFor(() => f.stats().connected, { timeoutMs: 40_000, what: `${o.id} reconnected` })
  }

  producing = false
  await producer
  const total = sent.length
  for (const f of gw.gateway.forwarders) {
    await waitFor(() => f.stats().backlogRows === 0, {
      timeoutMs: 60_000,
      what: `${f.id} drained`,
    })
  }
  await waitFor(
    () => counts().cloud === total && counts().tb === total && counts().tsdb === total,
    {
      timeoutMs: 30_000,
      what: `all ${total} readings at every target`,
    },
  )

  // Each uplink's sent total counts its own rows: every reading once, plus at most the
  // rows it sent again after its reconnect (an upstream may take those twice).
  const end = await gw.metrics.text()
  for (const f of gw.gateway.forwarders) {
    const taken = sampleSum(end, `floxgate_uplink_sent_total{uplink="${f.id}"}`)
    expect(taken).toBeGreaterThanOrEqual(total)
    expect(taken).toBeLessThanOrEqual(total + f.stats().resent)
  }

  // Order per device at every target: first appearances are exactly the sent order.
  const want = perDeviceOrder(sent)
  for (const [name, got] of [
    ['cloud', mqttSeen.got],
    ['tsdb', influxSeen()],
    ['tb', tbSeen.got],
  ] as const) {
    const have = perDeviceOrder(got)
    for (const [device, tss] of want) {
      const index = new Map(tss.map((ts, i) => [ts, i]))
      const check = checkSequence((have.get(device) ?? []).map((ts) => index.get(ts) ?? -1))
      expect({ name, device, ...check, duplicates: 0 }).toEqual({
        name,
        device,
        unique: tss.length,
        duplicates: 0,
        gaps: [],
      })
    }
  }
  // And InfluxDB has each point once.
  const stored = rowsOf(
    await influx.query('SELECT count(value) FROM temperature GROUP BY device', 'floxgate'),
  )
  expect(Object.fromEntries(stored.map((s) => [s.device, s.count]))).toEqual(
    Object.fromEntries([...want].map(([d, tss]) => [d, tss.length])),
  )
  for (const f of gw.gateway.forwarders) {
    expect(f.stats().reconnects).toBeGreaterThanOrEqual(1)
    expect(f.stats().rejected).toBe(0)
  }
}, 240_000)
