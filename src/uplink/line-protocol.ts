import type { RowValue } from './row-values.js'

/** Tags of a device beside its name: from the config's `devices` list. */
export type DeviceTags = (device: string) => {
  readonly location?: string | undefined
  readonly profile?: string | undefined
}

export interface LineOptions {
  readonly gateway: string
  /** `per-metric`: measurement `temperature`, field `value`; `single`: one measurement, a field per metric. */
  readonly measurement: 'per-metric' | 'single'
  readonly measurementName: string
  readonly tags: DeviceTags
}

// Escaping per InfluxDB's line protocol reference.
const measurementName = (s: string) => s.replace(/[,\s\\]/g, (c) => `\\${c}`)
const tagPart = (s: string) => s.replace(/[,=\s\\]/g, (c) => `\\${c}`)
const stringField = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`
const num = (n: number) => (Number.isFinite(n) ? String(n) : undefined)

function tagSet(tags: Record<string, string | null | undefined>): string {
  let out = ''
  // Sorted by key, as InfluxDB recommends; empty values are not allowed.
  for (const k of Object.keys(tags).sort()) {
    const v = tags[k]
    if (v !== undefined && v !== null && v !== '') out += `,${tagPart(k)}=${tagPart(v)}`
  }
  return out
}

function fieldSet(fields: Record<string, string | undefined>): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) parts.push(`${tagPart(k)}=${v}`)
  return parts.join(',')
}

/**
 * One line of InfluxDB line protocol (timestamp in ms) for a row, or undefined when the
 * row carries no field InfluxDB can store. Readings go to a measurement per metric (or
 * one measurement with a field per metric); aggregates to `aggregates`, alerts to
 * `alerts`, dead letters to `dead_letters`, each with a `metric` tag where it has one.
 */
export function lineOf(v: RowValue, o: LineOptions): string | undefined {
  const device = v.device ?? undefined
  const t = device === undefined ? {} : o.tags(device)
  const base = { gateway: o.gateway, device, location: t.location, profile: t.profile }
  let measurement: string
  let tags: Record<string, string | null | undefined>
  let fields: Record<string, string | undefined>
  let ts: number
  switch (v.stream) {
    case 'readings':
      ts = v.ts
      if (o.measurement === 'single') {
        measurement = o.measurementName
        tags = base
        fields = { [v.metric]: num(v.value) }
      } else {
        measurement = v.metric
        tags = base
        fields = { value: num(v.value) }
      }
      break
    case 'aggregates':
      measurement = 'aggregates'
      tags = { ...base, metric: v.metric }
      ts = v.windowStart
      fields = {
        count: `${Math.trunc(v.count)}i`,
        min: num(v.min),
        max: num(v.max),
        mean: num(v.mean),
        last: num(v.last),
        window_end: `${Math.trunc(v.windowEnd)}i`,
      }
      break
    case 'alerts':
      measurement = 'alerts'
      tags = { ...base, metric: v.metric, rule: v.rule, kind: v.kind, severity: v.severity }
      ts = v.ts
      fields = {
        state: stringField(v.state),
        active: v.state === 'raised' ? 'true' : 'false',
        value: v.value === null ? undefined : num(v.value),
        threshold: v.threshold === null ? undefined : num(v.threshold),
        since: `${Math.trunc(v.since)}i`,
      }
      break
    case 'dead-letters':
      measurement = 'dead_letters'
      tags = { ...base, reason: v.reason }
      ts = v.receivedAt
      fields = { detail: stringField(v.detail.slice(0, 1000)) }
      break
  }
  const f = fieldSet(fields)
  if (f === '') return undefined
  return `${measurementName(measurement)}${tagSet(tags)} ${f} ${Math.trunc(ts)}`
}
