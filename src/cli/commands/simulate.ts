import mqtt, { type MqttClient } from 'mqtt'
import { parseMqttUrl } from '../../mqtt/endpoint.js'
import { Simulator } from '../../sim/simulator.js'

export interface SimulateOptions {
  url: string
  devices: number
  intervalMs: number
  /** Stop after this many ms (0: run until SIGINT/SIGTERM). */
  durationMs: number
  seed: number
  topic: string
  prefix: string
  anomalyAfterMs: number
  username?: string | undefined
  password?: string | undefined
  qos: 0 | 1
}

/**
 * Publishes simulated readings until stopped. Prints one summary line per 10 s so a user
 * sees it working; the gateway's own log shows the alerts and dead letters it causes.
 */
export async function simulate(
  opts: SimulateOptions,
  out: (line: string) => void,
): Promise<number> {
  const broker = parseMqttUrl('--url', opts.url)
  const started = Date.now()
  const sim = new Simulator(
    {
      devices: opts.devices,
      seed: opts.seed,
      topic: opts.topic,
      prefix: opts.prefix,
      anomalyAfterMs: opts.anomalyAfterMs,
    },
    started,
  )
  out(
    `simulating ${opts.devices} devices on ${opts.url} every ${opts.intervalMs} ms; anomalies from ${Math.round(opts.anomalyAfterMs / 1000)} s: ` +
      sim.devices
        .filter((d) => d.anomaly !== 'none')
        .map((d) => `${d.id}=${d.anomaly}`)
        .join(', '),
  )
  // One connection per device, as real sensors have: a broker holds each sender's
  // QoS 1 publish until it is stored, so sharing one connection would serialize them.
  const clients = new Map<string, MqttClient>()
  for (const d of sim.devices) {
    clients.set(
      d.id,
      await mqtt.connectAsync({
        protocol: broker.protocol,
        host: broker.host,
        port: broker.port,
        username: opts.username ?? broker.username,
        password: opts.password ?? broker.password,
        clientId: `${d.id}-${process.pid}`,
        reconnectPeriod: 1000,
      }),
    )
  }
  let sent = 0
  let stopped = false
  const stop = () => {
    stopped = true
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let lastReport = started
  try {
    for (let tick = 0; !stopped; tick++) {
      const now = Date.now()
      if (opts.durationMs > 0 && now - started >= opts.durationMs) break
      await Promise.all(
        sim.messagesAt(now).map(async (m) => {
          await clients.get(m.device)?.publishAsync(m.topic, m.payload, { qos: opts.qos })
          sent++
        }),
      )
      if (now - lastReport >= 10_000) {
        out(`sent ${sent} messages in ${Math.round((now - started) / 1000)} s`)
        lastReport = now
      }
      // Pace against the schedule, not the previous publish, so the rate does not drift.
      const next = started + (tick + 1) * opts.intervalMs
      const wait = next - Date.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    }
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await Promise.all([...clients.values()].map((c) => c.endAsync()))
  }
  out(`done: sent ${sent} messages`)
  return 0
}
