/**
 * The benchmarks' load generator, run as its own process so its CPU is not counted
 * against the gateway. Publishes JSON readings from N devices to
 * `sensors/<id>/telemetry` (or, with --payload tasmota, Tasmota's `tele/<id>/SENSOR`), then prints one JSON line with what it did.
 *
 *   node .bench/bench/publisher.js --port 1883 --count 100000 --devices 100 [--rate 2000]
 *     [--qos 0|1] [--crossEvery 500] [--alerts] [--alertWaitMs 60000] [--inflight 500] [--prefix bench-]
 *
 * With --crossEvery K, every K-th reading of a device jumps above 30 °C and the next one
 * falls back, so the number of alerts to expect is known in advance (one raise per
 * crossing, one clear per crossing that a later reading of the device follows). With
 * --alerts it subscribes to floxgate/alerts/# and reports publish-to-alert latencies of
 * raises; with --qos 1 it reports publish-to-PUBACK latencies too. Timestamps are milliseconds, strictly increasing per device (the store keys a
 * reading by time and series, so two equal ones would be one reading).
 */
import { Socket } from 'node:net'
import { parseArgs } from 'node:util'
import mqtt from 'mqtt'

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    count: { type: 'string', default: '100000' },
    devices: { type: 'string', default: '100' },
    rate: { type: 'string', default: '0' },
    qos: { type: 'string', default: '0' },
    crossEvery: { type: 'string', default: '0' },
    alerts: { type: 'boolean', default: false },
    inflight: { type: 'string', default: '500' },
    prefix: { type: 'string', default: 'bench-' },
    alertWaitMs: { type: 'string', default: '60000' },
    // flat: sensors/<id>/telemetry JSON; tasmota: tele/<id>/SENSOR as Tasmota sends it
    payload: { type: 'string', default: 'flat' },
  },
})
const tasmota = values.payload === 'tasmota'

const count = Number(values.count)
const devices = Number(values.devices)
const rate = Number(values.rate)
const qos = Number(values.qos) as 0 | 1
const crossEvery = Number(values.crossEvery)
const inflight = Number(values.inflight)

/** The value of reading `i` of a device: 20-25 °C, above 30 on crossings. */
function temperatureOf(i: number): number {
  if (crossEvery > 0 && i % crossEvery === crossEvery - 1) return 35
  return 20 + (i % 50) / 10
}

async function main(): Promise<void> {
  const client = await mqtt.connectAsync({
    host: values.host,
    port: Number(values.port),
    clientId: `bench-publisher-${process.pid}`,
    reconnectPeriod: 0,
  })
  // Latency is the gateway's, not Nagle's: a paced publisher's small segments would
  // otherwise wait for the broker's delayed ACK (tens of ms on loopback).
  if (client.stream instanceof Socket) client.stream.setNoDelay(true)
  const pendingRaise = new Map<string, number>()
  const latencies: number[] = []
  let alertsReceived = 0
  let raisesReceived = 0
  let clearsReceived = 0
  if (values.alerts) {
    client.on('message', (topic, payload) => {
      alertsReceived++
      try {
        const a = JSON.parse(payload.toString()) as { device?: string; state?: string }
        if (a.state === 'cleared') clearsReceived++
        if (a.state !== 'raised' || a.device === undefined) return
        raisesReceived++
        const sentAt = pendingRaise.get(a.device)
        if (sentAt !== undefined) {
          latencies.push(performance.now() - sentAt)
          pendingRaise.delete(a.device)
        }
      } catch {
        // retained clears from an earlier run are not ours to measure
      }
      void topic
    })
    await client.subscribeAsync('floxgate/alerts/#', { qos: 1 })
  }

  const startedAt = Date.now()
  const t0 = performance.now()
  const perDevice = new Array<number>(devices).fill(0)
  const lastTs = new Array<number>(devices).fill(0)
  let acked = 0
  const ackLatencies: number[] = []
  let crossings = 0
  let expectedClears = 0
  let window: Promise<unknown>[] = []
  for (let n = 0; n < count; n++) {
    const d = n % devices
    const i = perDevice[d] ?? 0
    perDevice[d] = i + 1
    const temperature = temperatureOf(i)
    const device = `${values.prefix}${d}`
    if (temperature >= 30) {
      crossings++
      if (n + devices < count) expectedClears++
      pendingRaise.set(device, performance.now())
    }
    const ts = Math.max(Date.now(), (lastTs[d] ?? 0) + 1)
    lastTs[d] = ts
    const humidity = 40 + (i % 20)
    // Tasmota's Time is local and zone-less: the preset uses the receive time for it.
    const payload = tasmota
      ? `{"Time":"${new Date(ts).toISOString().slice(0, 19)}","AM2301":{"Temperature":${temperature},"Humidity":${humidity},"DewPoint":9.1},"TempUnit":"C"}`
      : `{"temperature":${temperature},"humidity":${humidity},"ts":${ts}}`
    const topic = tasmota ? `tele/${device}/SENSOR` : `sensors/${device}/telemetry`
    if (qos === 1) {
      const sentAt = performance.now()
      window.push(
        client.publishAsync(topic, payload, { qos: 1 }).then(() => {
          acked++
          ackLatencies.push(performance.now() - sentAt)
        }),
      )
      if (window.length >= inflight) {
        await Promise.all(window)
        window = []
      }
    } else {
      client.publish(topic, payload, { qos: 0 })
      // Respect the socket's back-pressure instead of buffering 100k messages in memory.
      if (n % 256 === 0) await new Promise((r) => setImmediate(r))
    }
    if (rate > 0) {
      const due = t0 + ((n + 1) * 1000) / rate
      const wait = due - performance.now()
      if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    }
  }
  await Promise.all(window)
  const publishMs = performance.now() - t0
  const expectedAlerts = crossings + expectedClears
  if (values.alerts) {
    // Give the last alerts a bounded moment to arrive (a gateway still draining a flood).
    const deadline = Date.now() + Number(values.alertWaitMs)
    while (alertsReceived < expectedAlerts && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
  }
  await client.endAsync()
  latencies.sort((a, b) => a - b)
  ackLatencies.sort((a, b) => a - b)
  const pct = (p: number, xs = latencies) =>
    xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? null
  process.stdout.write(
    `${JSON.stringify({
      published: count,
      acked,
      crossings,
      startedAt,
      publishMs,
      expectedAlerts,
      alertsReceived,
      raisesReceived,
      clearsReceived,
      raiseLatencies: latencies.length,
      p50: pct(0.5),
      p99: pct(0.99),
      ackP50: pct(0.5, ackLatencies),
      ackP99: pct(0.99, ackLatencies),
    })}\n`,
  )
}

main().catch((err) => {
  process.stderr.write(`publisher failed: ${String(err)}\n`)
  process.exit(1)
})
