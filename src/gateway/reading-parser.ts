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
 * - Field paths may be nested (`AM2301.Temperature`); a topic may take its device id from
 *   payload fields (`device: "{model}-{id}"`) and read zone-less local times in a declared
 *   `timezone:`. A topic naming a preset is read by that preset (presets/, preset-reader.ts).
 */
import { ERR } from '../errors.js'
import type { DeviceDirectory, DeviceEntry } from './device-directory.js'
import { deviceIdProblem } from './device-id.js'
import { compileDeviceTemplate, type DeviceTemplate } from './device-template.js'
import { type FieldPath, fieldPath, readPath } from './field-path.js'
import { isLocalDateTime, parseLocalTime, type ZoneOffset, zoneOffset } from './local-time.js'
import {
  clip,
  describe,
  JsonRefusal,
  parseJsonObject,
  refuse,
  refuseJson,
} from './payload-refusal.js'
import { readPreset } from './preset-reader.js'
import { presetsNamed } from './presets/index.js'
import type { Preset } from './presets/preset.js'
import { type DeviceProfile, profileMetrics } from './profile.js'
import type { DeadLetter, DeadLetterReason, Metric, Reading } from './reading.js'
import { parseTimestamp } from './timestamp.js'
import { TopicPattern } from './topic-pattern.js'
import {
  type Conversion,
  DEFAULT_MESSAGE_ID_FIELD,
  DEFAULT_TIMESTAMP_FIELD,
  metricConversion,
  type PayloadFields,
  type UnitChoice,
} from './units.js'

export interface SensorTopicConfig {
  /** A preset name (presets/index.ts); its pattern unless `pattern` overrides it. */
  readonly preset?: string | undefined
  /** Required without a preset (the config schema checks). */
  readonly pattern?: string | undefined
  readonly format: 'json' | 'number'
  /** The metric of a number topic without a `{metric}` segment. */
  readonly metric?: Metric | undefined
  /** JSON field paths; missing ones come from the device profile, then the metric name. */
  readonly fields?: PayloadFields | undefined
  readonly units?: UnitChoice | undefined
  /** Device id from payload fields, e.g. `{model}-{id}`. */
  readonly device?: string | undefined
  /** Zone of zone-less local timestamps (IANA name, UTC or +hh:mm). */
  readonly timezone?: string | undefined
  /** ESPHome: object id -> metric (or `ignore`). */
  readonly sensors?: Readonly<Record<string, string>> | undefined
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
  /**
   * The device's directory entry when every reading is that device's: looked up once here
   * and handed on (the classifier and the metrics' device class use it), not per reading.
   */
  readonly entry?: DeviceEntry | undefined
  readonly readings: readonly Reading[]
  readonly deadLetters: readonly DeadLetter[]
}

interface FieldPlan {
  readonly metric: Metric
  readonly field: string
  /** Set for a nested path (`AM2301.Temperature`); a flat field is read directly. */
  readonly path: FieldPath | undefined
  readonly convert: Conversion
}

interface JsonPlan {
  readonly metrics: readonly FieldPlan[]
  readonly timestampField: string
  readonly timestampPath: FieldPath | undefined
  readonly messageIdField: string
  readonly messageIdPath: FieldPath | undefined
  readonly expected: string
}

export interface CompiledTopic {
  readonly pattern: TopicPattern
  readonly config: SensorTopicConfig
  readonly preset: Preset | undefined
  readonly deviceTemplate: DeviceTemplate | undefined
  readonly zone: ZoneOffset | undefined
  readonly plans: Map<DeviceProfile, JsonPlan>
  readonly conversions: Map<string, Conversion>
}

const STRICT_NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/
const NON_FINITE = /^\s*[+-]?(nan|inf|infinity)\s*$/i

export class ReadingParser {
  readonly #topics: CompiledTopic[]
  readonly #devices: DeviceDirectory
  readonly #maxPayloadBytes: number

  constructor(opts: ReadingParserOptions) {
    this.#devices = opts.devices
    this.#maxPayloadBytes = opts.maxPayloadBytes
    this.#topics = opts.topics.flatMap((config) => compileTopic(config))
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
    if (compiled === undefined) {
      return refuse(
        topic,
        payload,
        undefined,
        receivedAt,
        'topic-unmatched',
        `topic "${clip(topic)}" matches none of the sensor topic patterns`,
      )
    }
    const badId = device === undefined ? undefined : deviceIdProblem(device)
    if (badId !== undefined) {
      // never kept: a long id would cost memory in every map and row keyed by devices
      return refuse(topic, payload, undefined, receivedAt, 'bad-device-id', badId)
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
    if (compiled.preset !== undefined) {
      return readPreset(compiled, compiled.preset, this.#devices, {
        topic,
        payload,
        device,
        segment: metricSegment,
        receivedAt,
      })
    }
    if (device === undefined || compiled.deviceTemplate !== undefined) {
      return this.#parseJsonForPayloadDevice(compiled, topic, payload, receivedAt)
    }
    const entry = this.#devices.resolve(device, receivedAt)
    if (entry === undefined) return this.#unknownDevice(device, topic, payload, receivedAt)
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
    if (metric === undefined || !Object.hasOwn(entry.profile.metrics, metric)) {
      return refuse(
        topic,
        payload,
        device,
        receivedAt,
        'unknown-metric',
        `profile ${entry.profile.id} does not measure "${clip(String(metric))}" (it measures ${profileMetrics(entry.profile).join(', ')})`,
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
      convert = metricConversion(metric, t.config.units?.[metric], entry.profile)
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
    return { device, entry, readings: [reading], deadLetters: [] }
  }

  /** A JSON topic whose device id is in the payload (`device:` template). */
  #parseJsonForPayloadDevice(
    t: CompiledTopic,
    topic: string,
    payload: Buffer,
    receivedAt: number,
  ): ParsedMessage {
    const obj = parseJsonObject(payload)
    if (obj instanceof JsonRefusal) return refuseJson(obj, topic, payload, undefined, receivedAt)
    const template = t.deviceTemplate
    const device = template?.fill(obj)
    if (template === undefined || typeof device !== 'string') {
      return refuse(
        topic,
        payload,
        undefined,
        receivedAt,
        'missing-field',
        `device: the field "${typeof device === 'object' ? device.missing : '?'}" of the device id template "${template?.source ?? ''}" is missing or not a string or number`,
      )
    }
    // As for ids from topics: bounded, printable, usable as a topic level.
    const badId = deviceIdProblem(device)
    if (badId !== undefined) {
      return refuse(topic, payload, undefined, receivedAt, 'bad-device-id', badId)
    }
    const entry = this.#devices.resolve(device, receivedAt)
    if (entry === undefined) return this.#unknownDevice(device, topic, payload, receivedAt)
    return this.#parseJson(t, entry, topic, payload, receivedAt, obj)
  }

  #unknownDevice(device: string, topic: string, payload: Buffer, receivedAt: number) {
    const why = this.#devices.refusal(device)
    return refuse(topic, payload, device, receivedAt, 'unknown-device', why)
  }

  #parseJson(
    t: CompiledTopic,
    entry: DeviceEntry,
    topic: string,
    payload: Buffer,
    receivedAt: number,
    parsed?: Record<string, unknown>,
  ): ParsedMessage {
    const device = entry.id
    let fields: Record<string, unknown>
    if (parsed !== undefined) fields = parsed
    else {
      const obj = parseJsonObject(payload)
      if (obj instanceof JsonRefusal) return refuseJson(obj, topic, payload, device, receivedAt)
      fields = obj
    }
    let plan = t.plans.get(entry.profile)
    if (plan === undefined) {
      plan = compilePlan(t.config, entry.profile)
      t.plans.set(entry.profile, plan)
    }

    let ts = receivedAt
    let tsFromReceive = true
    const rawTs =
      plan.timestampPath === undefined
        ? fields[plan.timestampField]
        : readPath(fields, plan.timestampPath)
    if (rawTs !== undefined && rawTs !== null) {
      ts = parseTimestamp(rawTs)
      if (Number.isNaN(ts) && t.zone !== undefined && typeof rawTs === 'string')
        ts = isLocalDateTime(rawTs) ? parseLocalTime(rawTs, t.zone) : Number.NaN
      if (Number.isNaN(ts)) {
        return refuse(
          topic,
          payload,
          device,
          receivedAt,
          'bad-timestamp',
          `${plan.timestampField}: ${describe(rawTs)} is not epoch s/ms or ISO 8601 with a zone on a date that exists${t.zone === undefined ? '' : ' or a local time'}`,
        )
      }
      tsFromReceive = false
    }
    const rawId =
      plan.messageIdPath === undefined
        ? fields[plan.messageIdField]
        : readPath(fields, plan.messageIdPath)
    const messageId =
      typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : undefined

    const readings: Reading[] = []
    let deadLetters: DeadLetter[] | undefined
    for (const f of plan.metrics) {
      const raw = f.path === undefined ? fields[f.field] : readPath(fields, f.path)
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
    return { device, entry, readings, deadLetters: deadLetters ?? [] }
  }
}

function compileTopic(config: SensorTopicConfig): CompiledTopic[] {
  const presets: ReadonlyArray<Preset | undefined> =
    config.preset === undefined ? [undefined] : (presetsNamed(config.preset) ?? [])
  if (presets.length === 0)
    throw ERR.GATEWAY_BAD_OPTION('sensors.topics[].preset', config.preset, 'a known preset name')
  const template = config.device === undefined ? undefined : compileDeviceTemplate(config.device)
  return presets.map((preset) => {
    const pattern = config.pattern ?? preset?.pattern
    if (pattern === undefined)
      throw ERR.GATEWAY_BAD_OPTION('sensors.topics[].pattern', pattern, 'a pattern or a preset')
    return {
      pattern: new TopicPattern(pattern, {
        deviceRequired: template === undefined && preset?.deviceFromPayload !== true,
        multiLevelDevice: preset?.multiLevelDevice,
      }),
      config,
      preset,
      deviceTemplate: template,
      zone: config.timezone === undefined ? undefined : zoneOffset(config.timezone),
      plans: new Map(),
      conversions: new Map(),
    }
  })
}

function compilePlan(config: SensorTopicConfig, profile: DeviceProfile): JsonPlan {
  const field = (k: string, fallback: string): string =>
    config.fields?.[k] ?? profile.payload.fields[k] ?? fallback
  const metrics = profileMetrics(profile).map((metric): FieldPlan => {
    const f = field(metric, metric)
    return {
      metric,
      field: f,
      path: fieldPath(f),
      convert: metricConversion(metric, config.units?.[metric], profile),
    }
  })
  const timestampField = field('timestamp', DEFAULT_TIMESTAMP_FIELD)
  const messageIdField = field('messageId', DEFAULT_MESSAGE_ID_FIELD)
  return {
    metrics,
    timestampField,
    timestampPath: fieldPath(timestampField),
    messageIdField,
    messageIdPath: fieldPath(messageIdField),
    expected: metrics.map((m) => `"${m.field}"`).join(', '),
  }
}
