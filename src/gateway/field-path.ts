/**
 * Nested JSON field paths: `AM2301.Temperature` reads `{"AM2301":{"Temperature":21.3}}`.
 * A field name that itself contains a dot (Tasmota's `PM2.5`) is written with a
 * backslash: `PMS5003.PM2\.5`. Flat names compile to no path and are read directly, so
 * the common case costs one property lookup.
 */

export type FieldPath = readonly string[]

/** The segments of a nested path, or undefined for a flat field name. */
export function fieldPath(field: string): FieldPath | undefined {
  if (!field.includes('.')) return undefined
  const parts: string[] = []
  let cur = ''
  for (let i = 0; i < field.length; i++) {
    const c = field[i]!
    if (c === '\\' && field[i + 1] === '.') {
      cur += '.'
      i++
    } else if (c === '.') {
      parts.push(cur)
      cur = ''
    } else cur += c
  }
  parts.push(cur)
  return parts.length === 1 ? undefined : parts
}

/** The value at `path`, undefined when any step is missing or not an object. */
export function readPath(obj: Record<string, unknown>, path: FieldPath): unknown {
  let cur: unknown = obj
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}
