/**
 * Config problems as `path: what is wrong` lines, built from zod issues, YAML errors and
 * our own cross-checks. Shared by `loadConfig` and `floxgate check-config`.
 */
import type { z } from 'zod'

export interface ConfigProblem {
  /** Dotted path into the config (`rules[2].high`); empty for file-level problems. */
  readonly path: string
  readonly message: string
  /** 1-based position in the file, when known. */
  readonly line?: number | undefined
  readonly col?: number | undefined
}

/** One line per problem, e.g. `rules[2].high: expected a number, got "thirty" (line 14)`. */
export function formatConfigErrors(problems: readonly ConfigProblem[]): string {
  return problems.map(formatProblem).join('\n')
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? '' : ` (line ${p.line})`
  if (p.path === '') {
    const pos =
      p.line === undefined ? '' : `line ${p.line}${p.col === undefined ? '' : `:${p.col}`}: `
    return `${pos}${p.message}`
  }
  return `${p.path}: ${p.message}${where}`
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`
    else if (typeof k === 'string' && /^[A-Za-z_][\w-]*$/.test(k)) out += out === '' ? k : `.${k}`
    else out += `[${JSON.stringify(String(k))}]`
  }
  return out
}

/**
 * Keys whose values are secrets: a config error never echoes them (the message goes to
 * the journal, a terminal, a bug report).
 */
const SECRET_KEY = /pass(word|wd|phrase)?|token|secret|api[-_]?key|credential|authorization|cookie/i

/** True when the value at `path` is a secret by its key name (`passwordHash`, `token`). */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  return path.some((k) => typeof k === 'string' && SECRET_KEY.test(k))
}

/** A URL's password (`mqtt://user:secret@host`) never echoed either. */
function withoutUrlPassword(v: string): string {
  return v.replace(/(\/\/[^/:@\s]*:)[^@\s]*@/g, '$1***@')
}

/** How a value looks to a person reading the config: `"thirty"`, `70000`, `a list`. */
export function describeValue(v: unknown, path: readonly PropertyKey[] = []): string {
  if (isSecretPath(path)) {
    if (typeof v === 'string')
      return `a string of ${v.length} character${v.length === 1 ? '' : 's'} (not shown: a secret)`
    if (v === null) return 'null (an empty value)'
    return `${Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : `a ${typeof v}`} (not shown: a secret)`
  }
  if (typeof v === 'string') {
    const s = withoutUrlPassword(v)
    return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s)
  }
  if (v === null) return 'null (an empty value)'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return String(v)
}

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  int: 'an integer',
}

/**
 * Problems for one zod issue. `keysAt` lists the allowed keys of the object at a path,
 * for "did you mean" on unknown keys.
 */
export function problemsFromIssue(
  issue: z.core.$ZodIssue,
  keysAt: (path: readonly PropertyKey[]) => readonly string[],
): Array<{ path: PropertyKey[]; message: string }> {
  const path = [...issue.path]
  const input = (issue as { input?: unknown }).input
  const got = input === undefined ? '' : `, got ${describeValue(input, path)}`
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = keysAt(path)
      return issue.keys.map((key) => ({ path: [...path, key], message: unknownKey(key, allowed) }))
    }
    case 'invalid_type':
      if (input === undefined) return [{ path, message: 'is required' }]
      return [{ path, message: `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}${got}` }]
    case 'invalid_value':
      return [
        {
          path,
          message: `expected ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((v) => String(v)).join(', ')}${got}`,
        },
      ]
    case 'invalid_union':
      return [{ path, message: `is not valid${got}` }]
    default:
      // Our own schema messages start with "expected"; zod's defaults are reworded.
      // Our cross-field checks say "must ..." about a whole mapping: its value says nothing.
      // "unknown ..." messages (preset, metric, unit, zone) quote the value themselves.
      if (issue.message.startsWith('must') || issue.message.startsWith('unknown '))
        return [{ path, message: issue.message }]
      if (issue.message.startsWith('expected')) return [{ path, message: `${issue.message}${got}` }]
      if (issue.code === 'too_small' || issue.code === 'too_big') {
        const bound = issue.code === 'too_small' ? 'at least' : 'at most'
        const limit = issue.code === 'too_small' ? issue.minimum : issue.maximum
        const unit =
          issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : ''
        return [{ path, message: `expected ${bound} ${String(limit)}${unit}${got}` }]
      }
      return [
        {
          path,
          message: `${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}${got}`,
        },
      ]
  }
}

export function unknownKey(key: string, allowed: readonly string[]): string {
  const guess = closest(key, allowed)
  if (guess !== undefined) return `unknown key "${key}", did you mean "${guess}"?`
  if (allowed.length === 0) return `unknown key "${key}"`
  return `unknown key "${key}" (expected one of: ${allowed.join(', ')})`
}

/** The candidate nearest to `word` when it is close enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  const w = word.toLowerCase()
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase())
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3))
  return bestDistance <= limit ? best : undefined
}

/** Edits (insert, delete, replace, swap of neighbours) turning `a` into `b`. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)]
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    const prev = rows[i - 1]!
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2]![j - 2]! + 1)
      }
      cur[j] = d
    }
    rows.push(cur)
  }
  return rows[a.length]![b.length]!
}

/** The keys the schema allows for the object at `path` (for "did you mean"). */
export function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema
  for (const key of [...path, undefined]) {
    s = unwrap(s)
    if (s === undefined) return []
    if (key === undefined) break
    const def = s.def as {
      type: string
      shape?: Record<string, z.ZodType>
      element?: z.ZodType
      valueType?: z.ZodType
    }
    if (def.type === 'object') s = def.shape?.[String(key)]
    else if (def.type === 'array') s = def.element
    else if (def.type === 'record') s = def.valueType
    else return []
  }
  const def = s?.def as { type: string; shape?: Record<string, unknown> } | undefined
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : []
}

/**
 * Whether the schema takes a number or a boolean at `path` (any option of a union), so
 * that `${VAR}` there can fill one.
 */
export function scalarKindsAt(
  schema: z.ZodType,
  path: readonly PropertyKey[],
): Set<'number' | 'boolean'> {
  const out = new Set<'number' | 'boolean'>()
  const walk = (node: z.ZodType | undefined, i: number, depth: number): void => {
    const s = unwrap(node)
    if (s === undefined || depth > 20) return
    const def = s.def as {
      type: string
      options?: z.ZodType[]
      values?: unknown[]
      shape?: Record<string, z.ZodType>
      element?: z.ZodType
      valueType?: z.ZodType
    }
    if (def.type === 'union') {
      for (const o of def.options ?? []) walk(o, i, depth + 1)
      return
    }
    if (i === path.length) {
      if (def.type === 'number' || def.type === 'boolean') out.add(def.type)
      for (const v of def.type === 'literal' ? (def.values ?? []) : []) {
        if (typeof v === 'number' || typeof v === 'boolean')
          out.add(typeof v as 'number' | 'boolean')
      }
      return
    }
    const key = path[i]
    if (def.type === 'object') walk(def.shape?.[String(key)], i + 1, depth + 1)
    else if (def.type === 'array') walk(def.element, i + 1, depth + 1)
    else if (def.type === 'record') walk(def.valueType, i + 1, depth + 1)
  }
  walk(schema, 0, 0)
  return out
}

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  let cur = s
  for (let i = 0; i < 10 && cur !== undefined; i++) {
    const def = cur.def as { type: string; innerType?: z.ZodType; in?: z.ZodType }
    if (def.innerType !== undefined) cur = def.innerType
    else if (def.type === 'pipe' && def.in !== undefined) cur = def.in
    else return cur
  }
  return cur
}
