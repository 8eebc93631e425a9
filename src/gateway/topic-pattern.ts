import { ERR } from '../errors.js'

/**
 * Sensor topic patterns with named segments, e.g. `sensors/{device}/telemetry` or
 * `sensors/{device}/{metric}`. Compiled once into segment lists and matched by scanning
 * the topic in place: this runs for every message.
 */

const LITERAL = 0
const DEVICE = 1
const METRIC = 2

interface Segment {
  readonly kind: typeof LITERAL | typeof DEVICE | typeof METRIC
  readonly text: string
}

export interface TopicMatch {
  readonly device: string
  /** The `{metric}` segment as published (not yet checked against known metrics). */
  readonly metric: string | undefined
}

/** Why `pattern` is not a valid sensor topic pattern, or undefined when it is. */
export function topicPatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'expected a topic pattern, got an empty string'
  const parts = pattern.split('/')
  let devices = 0
  let metrics = 0
  for (const part of parts) {
    if (part === '{device}') devices++
    else if (part === '{metric}') metrics++
    else if (part.includes('{') || part.includes('}')) {
      return `segment "${part}": only whole segments {device} and {metric} are supported`
    } else if (part.includes('+') || part.includes('#')) {
      return `segment "${part}": use {device} or {metric} instead of MQTT wildcards`
    } else if (part.length === 0 && parts.length > 1) {
      return 'empty segment (a leading, trailing or double "/")'
    }
  }
  if (devices !== 1) return 'expected exactly one {device} segment'
  if (metrics > 1) return 'expected at most one {metric} segment'
  return undefined
}

export class TopicPattern {
  readonly source: string
  /** The MQTT subscription filter for this pattern (`{…}` segments become `+`). */
  readonly subscription: string
  readonly hasMetric: boolean
  readonly #segments: readonly Segment[]

  constructor(pattern: string) {
    const problem = topicPatternProblem(pattern)
    if (problem !== undefined) throw ERR.GATEWAY_BAD_TOPIC_PATTERN(pattern, problem)
    this.source = pattern
    this.#segments = pattern.split('/').map((text): Segment => {
      if (text === '{device}') return { kind: DEVICE, text }
      if (text === '{metric}') return { kind: METRIC, text }
      return { kind: LITERAL, text }
    })
    this.hasMetric = this.#segments.some((s) => s.kind === METRIC)
    this.subscription = this.#segments.map((s) => (s.kind === LITERAL ? s.text : '+')).join('/')
  }

  /** The named segments of `topic`, or undefined when it does not fit the pattern. */
  match(topic: string): TopicMatch | undefined {
    const segs = this.#segments
    const n = segs.length
    let pos = 0
    let device: string | undefined
    let metric: string | undefined
    for (let i = 0; i < n; i++) {
      const slash = topic.indexOf('/', pos)
      const last = i === n - 1
      if (last !== (slash === -1)) return undefined
      const end = last ? topic.length : slash
      const seg = segs[i]!
      if (seg.kind === LITERAL) {
        if (end - pos !== seg.text.length || !topic.startsWith(seg.text, pos)) return undefined
      } else {
        if (end === pos) return undefined
        if (seg.kind === DEVICE) device = topic.slice(pos, end)
        else metric = topic.slice(pos, end)
      }
      pos = end + 1
    }
    return device === undefined ? undefined : { device, metric }
  }
}

/** Fills `{device}`, `{metric}` and `{gateway}` in an output topic template. */
export function fillTopic(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole)
}
