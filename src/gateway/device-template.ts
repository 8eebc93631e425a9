/**
 * Device ids built from payload fields, for topics that carry many devices:
 * `device: "{model}-{id}"` gives `LaCrosse-TX141W-107187`. Each `{...}` is a field path
 * (field-path.ts) holding a string or a number.
 */
import { type FieldPath, fieldPath, readPath } from './field-path.js'

type Part = { readonly literal: string } | { readonly field: string; readonly path: FieldPath }

export interface DeviceTemplate {
  readonly source: string
  /** The device id, or `{ missing }` naming the first field that is absent or not scalar. */
  fill(payload: Record<string, unknown>): string | { readonly missing: string }
}

const PLACEHOLDER = /\{([^{}]+)\}/g

/** Why `template` is not a usable device id template, or undefined. */
export function deviceTemplateProblem(template: string): string | undefined {
  return /\{[^{}]+\}/.test(template)
    ? undefined
    : 'must hold at least one {field} placeholder, e.g. "{model}-{id}"'
}

export function compileDeviceTemplate(source: string): DeviceTemplate {
  const parts: Part[] = []
  let last = 0
  for (const m of source.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push({ literal: source.slice(last, m.index) })
    const field = m[1]!
    parts.push({ field, path: fieldPath(field) ?? [field] })
    last = m.index + m[0].length
  }
  if (last < source.length) parts.push({ literal: source.slice(last) })
  return {
    source,
    fill(payload) {
      let out = ''
      for (const p of parts) {
        if ('literal' in p) {
          out += p.literal
          continue
        }
        const v = readPath(payload, p.path)
        if (typeof v === 'string' && v !== '') out += v
        else if (typeof v === 'number' && Number.isFinite(v)) out += String(v)
        else return { missing: p.field }
      }
      return out
    },
  }
}
