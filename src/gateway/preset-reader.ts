/**
 * The parser's path for a topic that names a preset: parse the payload once (JSON or a
 * plain number), let the preset say which devices and metrics it carries, then look up
 * each device, convert units and apply the timestamp. Every refusal names the preset and
 * the payload field it looked for, so a person can tell firmware from config problems.
 */
import type { DeviceDirectory, DeviceEntry } from './device-directory.js'
import { deviceIdProblem } from './device-id.js'
import { isLocalDateTime, parseLocalTime } from './local-time.js'
import {
  clip,
  describe,
  JsonRefusal,
  parseJsonObject,
  refuse,
  refuseJson,
} from './payload-refusal.js'
import type { BadField, Preset, PresetTime } from './presets/preset.js'
import type { DeadLetter, Reading } from './reading.js'
import type { CompiledTopic, ParsedMessage } from './reading-parser.js'
import { parseTimestamp } from './timestamp.js'
import { metricConversion } from './units.js'

export interface PresetMessage {
  readonly topic: string
  readonly payload: Buffer
  /** The topic's `{device}` segment. */
  readonly device: string | undefined
  readonly segment: string | undefined
  readonly receivedAt: number
}

const NO_SENSORS: Readonly<Record<string, string>> = {}

export function readPreset(
  t: CompiledTopic,
  preset: Preset,
  devices: DeviceDirectory,
  m: PresetMessage,
): ParsedMessage {
  const { topic, payload, receivedAt } = m
  let value: unknown
  if (preset.format === 'json') {
    const obj = parseJsonObject(payload)
    if (obj instanceof JsonRefusal)
      return refuseJson(obj, topic, payload, m.device, receivedAt, `${preset.name}: `)
    value = obj
  } else {
    value = payload.toString('utf8')
  }
  const outcome = preset.decode({ device: m.device, segment: m.segment }, value, {
    sensors: t.config.sensors ?? NO_SENSORS,
  })
  if (outcome.kind === 'skip') return { device: m.device, readings: [], deadLetters: [] }
  if (outcome.kind === 'refuse') {
    const r = outcome.refusal
    return refuse(topic, payload, m.device, receivedAt, r.reason, presetDetail(preset, r))
  }

  let ts = receivedAt
  let tsFromReceive = true
  if (outcome.time !== undefined) {
    const at = sensorTime(outcome.time, t)
    if (Number.isNaN(at)) {
      return refuse(
        topic,
        payload,
        m.device,
        receivedAt,
        'bad-timestamp',
        `${preset.name}: ${outcome.time.field}: ${describe(outcome.time.value)} is not a timestamp ${outcome.time.local ? `in local time (timezone ${t.config.timezone})` : 'in epoch seconds or ISO 8601 with a zone'}`,
      )
    }
    if (at !== undefined) {
      ts = at
      tsFromReceive = false
    }
  }

  // A template in the config overrides the preset's own device id.
  let templated: string | undefined
  if (t.deviceTemplate !== undefined && typeof value === 'object') {
    const filled = t.deviceTemplate.fill(value as Record<string, unknown>)
    if (typeof filled !== 'string')
      return refuse(
        topic,
        payload,
        m.device,
        receivedAt,
        'missing-field',
        `${preset.name}: device: the field "${filled.missing}" of "${t.deviceTemplate.source}" is missing`,
      )
    templated = filled
  }

  const readings: Reading[] = []
  let deadLetters: DeadLetter[] | undefined
  const dead = (device: string | undefined, d: Pick<DeadLetter, 'reason' | 'detail'>) => {
    deadLetters ??= []
    deadLetters.push({ topic, payload, reason: d.reason, detail: d.detail, device, receivedAt })
  }
  for (const b of outcome.bad ?? [])
    dead(m.device, { reason: b.reason, detail: presetDetail(preset, b) })

  let entry: DeviceEntry | undefined
  /** The one device of every reading so far; undefined once a second one appears. */
  let only: DeviceEntry | undefined
  let several = false
  let refused: string | undefined
  let ignored = 0
  for (const s of outcome.samples) {
    const device = templated ?? s.device
    if (entry?.id !== device) {
      if (refused === device) continue
      const badId = deviceIdProblem(device)
      if (badId !== undefined) {
        refused = device
        entry = undefined
        dead(undefined, { reason: 'bad-device-id', detail: badId })
        continue
      }
      entry = devices.resolve(device, receivedAt)
      if (entry === undefined) {
        refused = device
        dead(device, { reason: 'unknown-device', detail: devices.refusal(clip(device, 80)) })
        continue
      }
    }
    // As on the flat path: metrics the device's profile does not measure are not read.
    if (!Object.hasOwn(entry.profile.metrics, s.metric)) {
      ignored++
      continue
    }
    if (only === undefined) only = entry
    else if (only !== entry) several = true
    const convert = metricConversion(s.metric, s.unit ?? t.config.units?.[s.metric], entry.profile)
    readings.push({
      device,
      metric: s.metric,
      value: convert(s.value),
      ts,
      receivedAt,
      tsFromReceive,
    })
  }
  if (readings.length === 0 && deadLetters === undefined) {
    const empty = outcome.empty?.[0]
    if (ignored === 0 && empty !== undefined) {
      return refuse(
        topic,
        payload,
        m.device,
        receivedAt,
        'missing-field',
        presetDetail(preset, {
          reason: 'missing-field',
          field: empty,
          detail: 'null (the firmware sent no value: a failed sensor read?)',
        }),
      )
    }
    const metrics = [...new Set(outcome.samples.map((s) => s.metric))].join(', ')
    return refuse(
      topic,
      payload,
      entry?.id ?? m.device,
      receivedAt,
      ignored > 0 ? 'unknown-metric' : 'missing-field',
      ignored > 0
        ? `${preset.name}: the payload carries ${metrics}, none of which profile ${entry?.profile.id} measures`
        : `${preset.name}: the payload carries no reading`,
    )
  }
  return {
    device: readings[0]?.device ?? m.device,
    entry: several ? undefined : only,
    readings,
    deadLetters: deadLetters ?? [],
  }
}

/** Fields and details may quote payload keys and values: bounded like every client string. */
function presetDetail(preset: Preset, b: BadField): string {
  return `${preset.name} preset, field ${clip(b.field, 80)}: ${clip(b.detail, 400)}`
}

/**
 * The sensor's time in ms, NaN when it is garbage, undefined when it cannot be trusted:
 * a zone-less local time on a topic without `timezone:` (receive time is used instead).
 */
function sensorTime(time: PresetTime, t: CompiledTopic): number | undefined {
  const v = time.value
  if (!time.local) return parseTimestamp(v)
  if (typeof v !== 'string') return t.zone === undefined ? undefined : Number.NaN
  const zoned = parseTimestamp(v)
  if (!Number.isNaN(zoned)) return zoned
  if (t.zone === undefined) return undefined
  return isLocalDateTime(v) ? parseLocalTime(v, t.zone) : Number.NaN
}
