/**
 * The gateway's domain values. Everything past parsing speaks in these types, in
 * canonical units (metrics.ts): temperature in degrees Celsius, humidity in % RH,
 * pressure in hPa, battery in %, voltage in V, co2 in ppm, illuminance in lx, pm2_5 in
 * µg/m³, and declared metrics in their declared unit.
 */
import type { Metric } from './metrics.js'

export type { Metric } from './metrics.js'

/** One measured value of one device, after unit conversion and calibration. */
export interface Reading {
  readonly device: string
  readonly metric: Metric
  /** Canonical unit of the metric (°C, % RH, hPa, ...). */
  readonly value: number
  /**
   * Measurement time, ms since the epoch: the sensor's timestamp, or the receive time
   * without one (made unique per series, see reading-identity.ts).
   */
  readonly ts: number
  /** When the gateway received it, ms since the epoch. */
  readonly receivedAt: number
  /** True when the payload carried no timestamp and `ts` is the receive time. */
  readonly tsFromReceive: boolean
  /** The sensor's own message id, when its payload carries one (configured field). */
  readonly messageId?: string | undefined
}

/** Why a message or reading was refused; stored with it in the dead-letter table. */
export type DeadLetterReason =
  | 'empty-payload'
  | 'not-json'
  | 'not-an-object'
  | 'not-a-number'
  | 'missing-field'
  | 'non-finite'
  | 'out-of-range'
  | 'timestamp-future'
  | 'timestamp-past'
  | 'bad-timestamp'
  | 'unknown-device'
  | 'unknown-metric'
  | 'topic-unmatched'
  | 'payload-too-large'
  /** The device id in the topic is longer than MAX_DEVICE_ID_CHARS or holds control characters. */
  | 'bad-device-id'
  /** The broker refused the topic for this client (ACL, `$SYS/`); acknowledged so it is not resent. */
  | 'not-authorized'
  /** The topic is not valid MQTT (U+0000, invalid UTF-8, too long). */
  | 'bad-topic'
  /** A node failed on this message (a bug or a resource error): kept, not lost. */
  | 'processing-error'
  /** An upstream (e.g. InfluxDB with HTTP 4xx) refused it for good: kept, not retried. */
  | 'upstream-rejected'

export interface DeadLetter {
  readonly topic: string
  /** The payload as received (truncated to a bounded size by the store). */
  readonly payload: Buffer
  readonly reason: DeadLetterReason
  /** One line a person can act on, e.g. `humidity: 1e308 is outside DHT22's range 0..100 % RH`. */
  readonly detail: string
  readonly device: string | undefined
  readonly receivedAt: number
}

export type Severity = 'warning' | 'critical'
export type AlertState = 'raised' | 'cleared'
export type RuleKind = 'high' | 'low' | 'rate' | 'stale'

/** A raise or clear transition of one rule for one device and metric. */
export interface AlertEvent {
  readonly gateway: string
  readonly device: string
  readonly metric: Metric | undefined
  readonly rule: string
  readonly kind: RuleKind
  readonly severity: Severity
  readonly state: AlertState
  /** The value that caused the transition (undefined for stale). */
  readonly value: number | undefined
  readonly threshold: number | undefined
  /** When the condition started (raise) or ended (clear), ms since the epoch. */
  readonly ts: number
  /** When the alert was first raised, for a clear; equals ts for a raise. */
  readonly since: number
}

/**
 * An alert event as its JSON documents (MQTT, webhooks, the uplinks' outbox) and its SQL
 * rows carry it: what is absent is null. Writers and readers of those share this shape.
 */
export interface AlertRecord extends Omit<AlertEvent, 'metric' | 'value' | 'threshold'> {
  readonly metric: Metric | null
  readonly value: number | null
  readonly threshold: number | null
}

/** `a` as an AlertRecord, its fields in the order the published document has them. */
export function alertRecord(a: AlertEvent): AlertRecord {
  return {
    gateway: a.gateway,
    device: a.device,
    metric: a.metric ?? null,
    rule: a.rule,
    kind: a.kind,
    severity: a.severity,
    state: a.state,
    value: a.value ?? null,
    threshold: a.threshold ?? null,
    ts: a.ts,
    since: a.since,
  }
}

/** A closed tumbling window of one device and metric. */
export interface Aggregate {
  readonly device: string
  readonly metric: Metric
  readonly windowStart: number
  readonly windowEnd: number
  readonly count: number
  readonly min: number
  readonly max: number
  readonly mean: number
  readonly last: number
}
