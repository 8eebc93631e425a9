import { ERR } from '../errors.js'

/**
 * Sensor topic patterns with named segments, e.g. `sensors/{device}/telemetry` or
 * `sensors/{device}/{metric}`. Compiled once into segment lists and matched by scanning
 * the topic in place: this runs for every message.
 *
 * Besides `{device}` and `{metric}`: `{sensor}` (a sensor name a preset maps to a metric,
 * as ESPHome's object id) and `+` (any one level, ignored: rtl_433's and
 * OpenMQTTGateway's gateway segment). `{device}` may be left out when the device id comes
 * from the payload (`device:` or a preset), and a last `{device}` may span several levels
 * when the preset says so (zigbee2mqtt's friendly names may contain `/`).
 */

const LITERAL = 0
const DEVICE = 1
const METRIC = 2
const SENSOR = 3
const ANY = 4

interface Segment {
  readonly kind: typeof LITERAL | typeof DEVICE | typeof METRIC | typeof SENSOR | typeof ANY
  readonly text: string
}

export interface TopicMatch {
  /** Undefined for a pattern without `{device}` (the payload names the device). */
  readonly device: string | undefined
  /** The `{metric}` or `{sensor}` segment as published (not yet checked). */
  readonly metric: string | undefined
}

export interface TopicPatternOptions {
  /** False when the payload names the device, so `{device}` is optional. */
  readonly deviceRequired?: boolean | undefined
  /** A last `{device}` segment takes the rest of the topic, `/` included. */
  readonly multiLevelDevice?: boolean | undefined
}

/** Why `pattern` is not a valid sensor topic pattern, or undefined when it is. */
export function topicPatternProblem(
  pattern: string,
  opts: TopicPatternOptions = {},
): string | undefined {
  if (pattern.length === 0) return 'expected a topic pattern, got an empty string'
  const parts = pattern.split('/')
  let devices = 0
  let metrics = 0
  for (const part of parts) {
    if (part === '{device}') devices++
    else if (part === '{metric}' || part === '{sensor}') metrics++
    else if (part === '+') continue
    else if (part.includes('{') || part.includes('}')) {
      return `segment "${part}": only whole segments {device}, {metric} and {sensor} are supported`
    } else if (part.includes('+') || part.includes('#')) {
      return `segment "${part}": use {device}, {metric} or a whole "+" level instead`
    } else if (part.length === 0 && parts.length > 1) {
      return 'empty segment (a leading, trailing or double "/")'
    }
  }
  if (devices > 1) return 'expected at most one {device} segment'
  if (devices === 0 && opts.deviceRequired !== false)
    return 'expected a {device} segment (or device: to take the device id from the payload)'
  if (metrics > 1) return 'expected at most one {metric} or {sensor} segment'
  return undefined
}

export class TopicPattern {
  readonly source: string
  /** The MQTT subscription filter for this pattern (`{…}` segments become `+`). */
  readonly subscription: string
  readonly hasMetric: boolean
  readonly #segments: readonly Segment[]

  readonly #multiLevel: boolean

  constructor(pattern: string, opts: TopicPatternOptions = {}) {
    const problem = topicPatternProblem(pattern, opts)
    if (problem !== undefined) throw ERR.GATEWAY_BAD_TOPIC_PATTERN(pattern, problem)
    this.source = pattern
    this.#segments = pattern.split('/').map((text): Segment => {
      if (text === '{device}') return { kind: DEVICE, text }
      if (text === '{metric}') return { kind: METRIC, text }
      if (text === '{sensor}') return { kind: SENSOR, text }
      if (text === '+') return { kind: ANY, text }
      return { kind: LITERAL, text }
    })
    this.hasMetric = this.#segments.some((s) => s.kind === METRIC || s.kind === SENSOR)
    this.#multiLevel = opts.multiLevelDevice === true && this.#segments.at(-1)?.kind === DEVICE
    const filter = this.#segments.map((s) => (s.kind === LITERAL ? s.text : '+'))
    if (this.#multiLevel) filter[filter.length - 1] = '#'
    this.subscription = filter.join('/')
  }

  /** The named segments of `topic`, or undefined when it does not fit the pattern. */
  match(topic: string): TopicMatch | undefined {
    const segs = this.#segments
    const n = segs.length
    let pos = 0
    let device: string | undefined
    let metric: string | undefined
    for (let i = 0; i < n; i++) {
      const last = i === n - 1
      if (last && this.#multiLevel) {
        if (pos >= topic.length) return undefined
        device = topic.slice(pos)
        break
      }
      const slash = topic.indexOf('/', pos)
      if (last !== (slash === -1)) return undefined
      const end = last ? topic.length : slash
      const seg = segs[i]!
      if (seg.kind === LITERAL) {
        if (end - pos !== seg.text.length || !topic.startsWith(seg.text, pos)) return undefined
      } else {
        if (end === pos) return undefined
        if (seg.kind === DEVICE) device = topic.slice(pos, end)
        else if (seg.kind !== ANY) metric = topic.slice(pos, end)
      }
      pos = end + 1
    }
    return { device, metric }
  }
}

/** Fills `{device}`, `{metric}` and `{gateway}` in an output topic template. */
export function fillTopic(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole)
}
