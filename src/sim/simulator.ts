import { gaussian, seededRandom } from './random.js'

/**
 * Realistic sensor traffic for demos and tests: each device follows a daily temperature
 * curve with noise, humidity moving against it, and a few devices carry injected
 * anomalies so a new user sees alerts within a minute of starting (and a stale sensor
 * once the dropout has lasted the config's staleSeconds).
 *
 * The simulator is pure: `messagesAt(t)` says what every device publishes at time t.
 * The CLI command publishes them to a broker.
 */

export type Anomaly = 'none' | 'spike' | 'drift' | 'dropout' | 'garbage'

export interface SimulatedDevice {
  readonly id: string
  readonly anomaly: Anomaly
  /** Mean temperature of this device's room, °C. */
  readonly baseTemperature: number
  readonly baseHumidity: number
}

export interface SimulatedMessage {
  readonly topic: string
  readonly payload: string
  readonly device: string
  /** What the message is meant to exercise (for logs and tests). */
  readonly kind: 'reading' | 'spike' | 'drift' | 'garbage'
}

export interface SimulatorOptions {
  devices: number
  seed?: number
  /** Topic template; `{device}` is replaced. */
  topic?: string
  /** Device id prefix: devices are `<prefix>1` .. `<prefix>N`. */
  prefix?: string
  /** When the anomalies start, ms after the simulation's start. */
  anomalyAfterMs?: number
  /** Include a `ts` field (ms) in the payloads. */
  timestamps?: boolean
}

const DAY_MS = 86_400_000
/** Anomalies are spread over the first devices so even a 3-device run shows each kind. */
const ANOMALY_ORDER: Anomaly[] = ['spike', 'drift', 'dropout', 'garbage']

/** Garbage payloads a real fleet produces: each must end as a dead letter, never a crash. */
export const GARBAGE_PAYLOADS: readonly string[] = [
  '',
  'not json',
  '[1,2,3]',
  '{"temperature":"twenty"}',
  '{"temperature":1e308}',
  '{"humidity":}',
  '{"temperature":null,"humidity":null}',
]

export class Simulator {
  readonly devices: readonly SimulatedDevice[]
  private readonly random: () => number
  private readonly topic: string
  private readonly startedAt: number
  private readonly anomalyAfterMs: number
  private readonly timestamps: boolean
  private garbageIndex = 0

  constructor(opts: SimulatorOptions, startedAt: number) {
    this.random = seededRandom(opts.seed ?? 42)
    this.topic = opts.topic ?? 'sensors/{device}/telemetry'
    this.startedAt = startedAt
    this.anomalyAfterMs = opts.anomalyAfterMs ?? 10_000
    this.timestamps = opts.timestamps ?? true
    const prefix = opts.prefix ?? 'sim-'
    const devices: SimulatedDevice[] = []
    for (let i = 0; i < opts.devices; i++) {
      devices.push({
        id: `${prefix}${i + 1}`,
        anomaly: ANOMALY_ORDER[i] ?? 'none',
        baseTemperature: 19 + this.random() * 4,
        baseHumidity: 40 + this.random() * 15,
      })
    }
    this.devices = devices
  }

  /** The messages every device publishes at time `now` (ms since the epoch). */
  messagesAt(now: number): SimulatedMessage[] {
    const out: SimulatedMessage[] = []
    const elapsed = now - this.startedAt
    const anomalous = elapsed >= this.anomalyAfterMs
    for (const d of this.devices) {
      const topic = this.topic.replace('{device}', d.id)
      if (anomalous && d.anomaly === 'dropout') continue
      if (anomalous && d.anomaly === 'garbage' && this.random() < 0.3) {
        const payload = GARBAGE_PAYLOADS[this.garbageIndex++ % GARBAGE_PAYLOADS.length] ?? ''
        out.push({ topic, payload, device: d.id, kind: 'garbage' })
        continue
      }
      let temperature = this.dailyTemperature(d, now) + gaussian(this.random) * 0.15
      let kind: SimulatedMessage['kind'] = 'reading'
      if (anomalous && d.anomaly === 'spike') {
        // A 20-second heat spike (a heater next to the sensor), once per 2 minutes.
        const phase = (elapsed - this.anomalyAfterMs) % 120_000
        if (phase < 20_000) {
          temperature = 45 + gaussian(this.random) * 0.5
          kind = 'spike'
        }
      }
      if (anomalous && d.anomaly === 'drift') {
        // A slow drift of 0.25 °C/s that crosses the 30 °C threshold within a minute.
        temperature += Math.min(20, ((elapsed - this.anomalyAfterMs) / 1000) * 0.25)
        kind = 'drift'
      }
      const humidity = Math.max(
        0,
        Math.min(
          100,
          d.baseHumidity - (temperature - d.baseTemperature) * 1.5 + gaussian(this.random),
        ),
      )
      const body: Record<string, number> = {
        temperature: round(temperature, 2),
        humidity: round(humidity, 1),
      }
      if (this.timestamps) body.ts = now
      out.push({ topic, payload: JSON.stringify(body), device: d.id, kind })
    }
    return out
  }

  private dailyTemperature(d: SimulatedDevice, now: number): number {
    // Coolest around 05:00, warmest around 17:00 (local clock ignored: a demo curve).
    const phase = ((now % DAY_MS) / DAY_MS - 5 / 24) * 2 * Math.PI
    return d.baseTemperature - 3 * Math.cos(phase)
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(v * f) / f
}
