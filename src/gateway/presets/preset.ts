/**
 * A preset reads the payloads of one firmware or radio bridge as it really sends them
 * (docs/sensors.md). The parser does the common part (topic match, size limit, JSON or
 * number parsing, device lookup, unit conversion, timestamps); a preset only says which
 * device, metric and value a payload carries, or why it cannot.
 */
import type { DeadLetterReason } from '../reading.js'

export interface PresetTopic {
  /** The topic's `{device}` segment, undefined when the payload names the device. */
  readonly device: string | undefined
  /** The topic's `{metric}` or `{sensor}` segment. */
  readonly segment: string | undefined
}

/** One value found in a payload, in `unit` (undefined: the topic's or metric's default). */
export interface Sample {
  readonly device: string
  readonly metric: string
  readonly value: number
  readonly unit?: string | undefined
}

/** A payload time field, and whether it is local time without a zone. */
export interface PresetTime {
  readonly field: string
  readonly value: unknown
  readonly local: boolean
}

export type PresetOutcome =
  | {
      readonly kind: 'samples'
      readonly samples: readonly Sample[]
      readonly time?: PresetTime | undefined
      /** Fields holding a value of the wrong type: dead letters beside the good samples. */
      readonly bad?: readonly BadField[] | undefined
      /** Metric fields present but null (a failed sensor read): named if nothing else is read. */
      readonly empty?: readonly string[] | undefined
    }
  /** Not a reading at all (zigbee2mqtt's bridge topics, a Shelly RPC event): no trace. */
  | { readonly kind: 'skip' }
  | { readonly kind: 'refuse'; readonly refusal: BadField }

export interface BadField {
  readonly reason: DeadLetterReason
  /** The payload field the preset looked for, e.g. `temperature_C` or `AM2301.Temperature`. */
  readonly field: string
  /** What is wrong with it, without the preset's name (the parser adds it). */
  readonly detail: string
}

/** Per-topic settings a preset reads (from the config's `sensors.topics` entry). */
export interface PresetSettings {
  /** ESPHome: sensor object id (or `device/object_id`) -> metric, or `ignore`. */
  readonly sensors: Readonly<Record<string, string>>
}

export interface Preset {
  readonly name: string
  /** What a person reads in check-config and docs: the firmware and its topic. */
  readonly summary: string
  readonly pattern: string
  readonly format: 'json' | 'number'
  /** The device id is in the payload, so the pattern needs no `{device}`. */
  readonly deviceFromPayload?: boolean | undefined
  /** A last `{device}` segment may span several topic levels. */
  readonly multiLevelDevice?: boolean | undefined
  /** JSON presets: `payload` is a parsed object. Number presets: a finite number. */
  decode(topic: PresetTopic, payload: unknown, settings: PresetSettings): PresetOutcome
}

export const SKIP: PresetOutcome = { kind: 'skip' }

export function refuse(reason: DeadLetterReason, field: string, detail: string): PresetOutcome {
  return { kind: 'refuse', refusal: { reason, field, detail } }
}

export function record(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined
}

/**
 * Collects samples and wrongly typed fields of one payload: `take` records a number, a
 * missing field is silently absent, a null one is noted (firmware sends null for a failed
 * read), anything else is a `not-a-number` bad field.
 */
export class SampleList {
  readonly samples: Sample[] = []
  bad: BadField[] | undefined
  empty: string[] | undefined

  take(
    device: string,
    metric: string,
    field: string,
    raw: unknown,
    unit?: string,
    scale = 1,
  ): void {
    if (raw === undefined) return
    if (raw === null) {
      this.empty ??= []
      this.empty.push(field)
      return
    }
    if (typeof raw === 'number' && Number.isFinite(raw)) {
      this.samples.push({ device, metric, value: raw * scale, unit })
      return
    }
    this.bad ??= []
    this.bad.push({
      reason: typeof raw === 'number' ? 'non-finite' : 'not-a-number',
      field,
      detail: `${describe(raw)} is not a finite JSON number`,
    })
  }

  outcome(time?: PresetTime): PresetOutcome {
    return { kind: 'samples', samples: this.samples, time, bad: this.bad, empty: this.empty }
  }
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  return String(v)
}

const STRICT_NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/

/** A plain-number payload as a number, or the bad field saying why it is not one. */
export function plainNumber(text: string, field: string): number | BadField {
  const n = STRICT_NUMBER.test(text) ? Number(text) : Number.NaN
  if (Number.isFinite(n)) return n
  return {
    reason: STRICT_NUMBER.test(text) ? 'non-finite' : 'not-a-number',
    field,
    detail: `${describe(text.trim())} is not a plain finite number`,
  }
}

/** One sample from a plain-number payload, or a refusal naming the topic's metric. */
export function numberOutcome(
  device: string,
  metric: string,
  text: string,
  field: string,
): PresetOutcome {
  const n = plainNumber(text, field)
  if (typeof n !== 'number') return { kind: 'refuse', refusal: n }
  return { kind: 'samples', samples: [{ device, metric, value: n }] }
}
