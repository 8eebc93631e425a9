/**
 * Turns one MQTT message into readings. This is the hot path: no schema library, one
 * JSON.parse, per-profile field plans compiled once, and dead letters only on failure.
 *
 * Decisions (documented in docs/config.md):
 * - A JSON payload must be an object; arrays, numbers and strings are `not-an-object`.
 * - A metric field holding a string (`"21.5"`) is `not-a-number`: firmware sending
 *   strings is misconfigured and guessing hides it. Each bad field gives its own dead
 *   letter; the payload's good fields still become readings.
 * - Only the fields of metrics the device's profile measures are read; others are ignored.
 *   An object with none of them is `missing-field`.
 * - A bad timestamp refuses the whole message (`bad-timestamp`).
 */
import type { DeviceDirectory, DeviceEntry } from './device-directory.js'
import { type DeviceProfile, profileMetrics } from './profile.js'
import {
  type DeadLetter,
  type DeadLetterReason,
  isMetric,
  type Metric,
  type Reading,
} from './reading.js'
import { parseTimestamp } from './timestamp.js'
import { TopicPattern } from './topic-pattern.js'
import {
  CANONICAL_UNITS,
  type Conversion,
  conversionTo,
  DEFAULT_FIELDS,
  type PayloadFields,
  type UnitChoice,
} from './units.js'

export interface SensorTopicConfig {
  readonly pattern: string
  readonly format: 'json' | 'number'
  /** The metric of a number topic without a `{metric}` segment. */
  readonly metric?: Metric | undefined
  /** JSON field names; missing ones come from the device profile, then the defaults. */
  readonly fields?: Readonly<Partial<PayloadFields>> | undefined
  readonly units?: Readonly<Partial<UnitChoice>> | undefined
}

export interface ReadingParserOptions {
  readonly topics: readonly SensorTopicConfig[]
  readonly devices: DeviceDirectory
  /** Larger payloads are refused unread. */
  readonly maxPayloadBytes: number
}

export interface ParsedMessage {
  /** Undefined when the topic matched no pattern. */
  readonly device: string | undefined
  readonly readings: Reading[]
  readonly deadLetters: DeadLetter[]
}

interface FieldPlan {
  readonly metric: Metric
  readonly field: string
  readonly convert: Conversion
}

interface JsonPlan {
  readonly metrics: readonly FieldPlan[]
  readonly timestampField: string
  readonly messageIdField: string
  readonly expected: string
}

interface CompiledTopic {
  readonly pattern: TopicPattern
  readonly config: SensorTopicConfig
  readonly plans: Map<DeviceProfile, JsonPlan>
  readonly conversions: Map<string, Conversion>
}

const DETAIL_VALUE_CHARS = 40
const STRICT_NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/
const NON_FINITE = /^\s*[+-]?(nan|inf|infinity)\s*$/i

export class ReadingParser {
  readonly #topics: CompiledTopic[]
  readonly #devices: DeviceDirectory
  readonly #maxPayloadBytes: number

  constructor(opts: ReadingParserOptions) {
    this.#devices = opts.devices
    this.#maxPayloadBytes = opts.maxPayloadBytes
    this.#topics = opts.topics.map((config) => ({
      pattern: new TopicPattern(config.pattern),
      config,
      plans: new Map(),
      conversions: new Map(),
    }))
  }

  /** MQTT subscription filters covering every sensor topic pattern. */
  get subscriptions(): string[] {
    return [...new Set(this.#topics.map((t) => t.pattern.subscription))]
  }

  parse(topic: string, payload: Buffer, receivedAt: number): ParsedMessage {
    let compiled: CompiledTopic | undefined
    let device: string | undefined
    let metricSegment: string | undefined
    for (const t of this.#topics) {
      const m = t.pattern.match(topic)
      if (m !== undefined) {
        compiled = t
        device = m.device
        metricSegment = m.metric
        break
      }
    }
    if (compiled === undefined || device === undefined) {
      return refuse(
        topic,
        payload,
        undefined,
        receivedAt,
        'topic-unmatched',
        `topic "${clip(topic)}" matches none of the sensor topic patterns`,
      )
    }
    if (payload.length > this.#maxPayloadBytes) {
      return refuse(
        topic,
        payload,
        device,
        receivedAt,
        'payload-too-large',
        `payload of ${payload.length} bytes exceeds the limit of ${this.#maxPayloadBytes}`,
      )
    }
    const entry = this.#devices.resolve(device)
    if (entry === undefined) {
      return refuse(
        topic,
        payload,
        device,
        receivedAt,
        'unknown-device',
        this.#devices.refusal(device),
      )
    }
    if (payload.length === 0) {
      return refuse(topic, payload, device, receivedAt, 'empty-payload', 'the payload is empty')
    }
    if (compiled.config.format === 'number') {
      return this.#parseNumber(compiled, entry, metricSegment, topic, payload, receivedAt)
    }
    return this.#parseJson(compiled, entry, topic, payload, receivedAt)
  }

  #parseNumber(
    t: CompiledTopic,
    entry: DeviceEntry,
    metricSegment: string | undefined,
    topic: string,
    payload: Buffer,
    receivedAt: number,
  ): ParsedMessage {
    const device = entry.id
    const metric = metricSegment ?? t.config.metric
    if (metric === undefined || !isMetric(metric)) {
      return refuse(
        topic,
        payload,
        device,
        receivedAt,
        'unknown-metric',
        `"${clip(String(metric))}" is not a metric (expected temperature, humidity or pressure)`,
      )
    }
    if (entry.profile.metrics[metric] === undefined) {
      return refuse(
        topic,
        payload,
        device,
        receivedAt,
        'unknown-metric',
        `profile ${entry.profile.id} does not measure ${metric}`,
      )
    }
    const text = payload.toString('utf8')
    if (!STRICT_NUMBER.test(text)) {
      const nonFinite = NON_FINITE.test(text)
      return refuse(
        topic,
        payload,
        device,
        receivedAt,
        nonFinite ? 'non-finite' : 'not-a-number',
        nonFinite
          ? `${metric}: ${clip(text.trim())} is not a finite number`
          : `${metric}: ${describe(text)} is not a plain number`,
      )
    }
    const raw = Number(text)
    if (!Number.isFinite(raw)) {
      return refuse(
        topic,
        payload,
        device,
        receivedAt,
        'non-finite',
        `${metric}: ${clip(text.trim())} overflows to Infinity`,
      )
    }
    let convert = t.conversions.get(metric)
    if (convert === undefined) {
      const unit =
        t.config.units?.[metric] ?? entry.profile.payload.units[metric] ?? CANONICAL_UNITS[metric]
      convert = conversionTo(metric, unit)
      t.conversions.set(metric, convert)
    }
    const reading: Reading = {
      device,
      metric,
      value: convert(raw),
      ts: receivedAt,
      receivedAt,
      tsFromReceive: true,
    }
    return { device, readings: [reading], deadLetters: [] }
  }

  #parseJson(
    t: CompiledTopic,
    entry: DeviceEntry,
    topic: string,
    payload: Buffer,
    receivedAt: number,
  ): ParsedMessage {
    const device = entry.id
    let obj: unknown
    try {
      obj = JSON.parse(payload.toString('utf8'))
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err)
      return refuse(topic, payload, device, receivedAt, 'not-json', `not JSON: ${clip(why, 80)}`)
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      return refuse(
        topic,
        payload,
        device,
        receivedAt,
        'not-an-object',
        `expected a JSON object, got ${kindOf(obj)}`,
      )
    }
    const fields = obj as Record<string, unknown>
    let plan = t.plans.get(entry.profile)
    if (plan === undefined) {
      plan = compilePlan(t.config, entry.profile)
      t.plans.set(entry.profile, plan)
    }

    let ts = receivedAt
    let tsFromReceive = true
    const rawTs = fields[plan.timestampField]
    if (rawTs !== undefined && rawTs !== null) {
      ts = parseTimestamp(rawTs)
      if (Number.isNaN(ts)) {
        return refuse(
          topic,
          payload,
          device,
          receivedAt,
          'bad-timestamp',
          `${plan.timestampField}: ${describe(rawTs)} is not epoch s/ms or ISO 8601 with a zone`,
        )
      }
      tsFromReceive = false
    }
    const rawId = fields[plan.messageIdField]
    const messageId =
      typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : undefined

    const readings: Reading[] = []
    let deadLetters: DeadLetter[] | undefined
    for (const f of plan.metrics) {
      const raw = fields[f.field]
      if (raw === undefined) continue
      let reason: DeadLetterReason | undefined
      let detail = ''
      if (typeof raw !== 'number') {
        reason = 'not-a-number'
        detail = `${f.field}: ${describe(raw)} is not a JSON number`
      } else if (!Number.isFinite(raw)) {
        reason = 'non-finite'
        detail = `${f.field}: the number overflows to Infinity`
      }
      if (reason !== undefined) {
        deadLetters ??= []
        deadLetters.push({ topic, payload, reason, detail, device, receivedAt })
        continue
      }
      readings.push({
        device,
        metric: f.metric,
        value: f.convert(raw as number),
        ts,
        receivedAt,
        tsFromReceive,
        messageId,
      })
    }
    if (readings.length === 0 && deadLetters === undefined) {
      return refuse(
        topic,
        payload,
        device,
        receivedAt,
        'missing-field',
        `none of the fields ${plan.expected} is present`,
      )
    }
    return { device, readings, deadLetters: deadLetters ?? [] }
  }
}

function compilePlan(config: SensorTopicConfig, profile: DeviceProfile): JsonPlan {
  const field = (k: keyof PayloadFields): string =>
    config.fields?.[k] ?? profile.payload.fields[k] ?? DEFAULT_FIELDS[k]
  const metrics = profileMetrics(profile).map(
    (metric): FieldPlan => ({
      metric,
      field: field(metric),
      convert: conversionTo(
        metric,
        config.units?.[metric] ?? profile.payload.units[metric] ?? CANONICAL_UNITS[metric],
      ),
    }),
  )
  return {
    metrics,
    timestampField: field('timestamp'),
    messageIdField: field('messageId'),
    expected: metrics.map((m) => `"${m.field}"`).join(', '),
  }
}

function refuse(
  topic: string,
  payload: Buffer,
  device: string | undefined,
  receivedAt: number,
  reason: DeadLetterReason,
  detail: string,
): ParsedMessage {
  return {
    device,
    readings: [],
    deadLetters: [{ topic, payload, reason, detail, device, receivedAt }],
  }
}

function kindOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a JSON array'
  if (typeof v === 'string') return `a string ${describe(v)}`
  return `a ${typeof v}`
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(clip(v))
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  return clip(String(v))
}

function clip(s: string, max = DETAIL_VALUE_CHARS): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`
}
