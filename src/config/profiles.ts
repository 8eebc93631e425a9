/**
 * Device profiles from a folder of `<id>.yaml` files (the package's `devices/` by default).
 * The profile id is the file name.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseDocument } from 'yaml'
import { z } from 'zod'
import { DERIVED_METRICS } from '../gateway/derived.js'
import { BUILTIN_METRICS, isBuiltinMetric, METRIC_NAME, unitNames } from '../gateway/metrics.js'
import type { DeviceProfile } from '../gateway/profile.js'
import {
  allowedKeys,
  type ConfigProblem,
  closest,
  formatPath,
  problemsFromIssue,
} from './problems.js'
import { yamlProblem } from './yaml-source.js'

/**
 * The profiles shipped with floxgate: `devices/` at the package root, found from this
 * module's location (src/config or build/config). A bundle passes its own folder instead.
 */
export function builtinProfilesDir(): string {
  return fileURLToPath(new URL('../../devices/', import.meta.url))
}

const metricSpec = z
  .strictObject({
    min: z.number(),
    max: z.number(),
    resolution: z.number().gt(0, { error: 'expected a number > 0' }).optional(),
    accuracy: z.number().min(0, { error: 'expected a number ≥ 0' }).optional(),
    unit: z.string().min(1).max(16).optional(),
  })
  .refine((s) => s.min < s.max, { error: 'must have min below max' })

const text = z.string().min(1)

export const metricName = z.string().regex(METRIC_NAME, {
  error: 'expected a metric name: lower case letters, digits and "_", starting with a letter',
})

/** `{ metric: unit }` where a built-in metric's unit must be one it converts from. */
export const unitChoice = z.record(metricName, text).superRefine((units, ctx) => {
  for (const [metric, unit] of Object.entries(units)) {
    if (!isBuiltinMetric(metric)) continue
    const known = unitNames(metric)
    if (!known.includes(unit))
      ctx.addIssue({
        code: 'custom',
        path: [metric],
        message: `unknown unit "${unit}" for ${metric} (known: ${known.join(', ')})`,
      })
  }
})

export const deriveList = z.array(z.enum(DERIVED_METRICS)).default([])

const profileSchema = z.strictObject({
  name: text,
  description: text.optional(),
  metrics: z
    .record(metricName, metricSpec)
    .refine((m) => Object.keys(m).length > 0, { error: 'must list at least one metric' })
    .superRefine((m, ctx) => {
      // A metric floxgate does not know is declared by giving its unit; without one it
      // is far more likely a typo than a new quantity.
      for (const [name, spec] of Object.entries(m)) {
        if (isBuiltinMetric(name) || spec.unit !== undefined) continue
        const guess = closest(name, Object.keys(BUILTIN_METRICS))
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `unknown metric "${name}"${guess === undefined ? '' : `, did you mean "${guess}"?`} (a new metric needs unit:)`,
        })
      }
    }),
  payload: z
    .strictObject({
      fields: z.record(z.string().min(1), text).default({}),
      units: unitChoice.default({}),
    })
    .prefault({}),
  derive: deriveList,
})

export interface LoadedProfiles {
  readonly profiles: Map<string, DeviceProfile>
  /** Paths are `<file>: <key path>`. */
  readonly problems: ConfigProblem[]
}

/** Reads every `*.yaml` / `*.yml` in `dir`; a missing folder is a problem, not a throw. */
export function loadProfiles(dir: string): LoadedProfiles {
  const profiles = new Map<string, DeviceProfile>()
  const problems: ConfigProblem[] = []
  let names: string[]
  try {
    names = readdirSync(dir)
      .filter((n) => /\.ya?ml$/.test(n))
      .sort()
  } catch (err) {
    problems.push({
      path: '',
      message: `cannot read the device profile folder ${dir}: ${(err as Error).message}`,
    })
    return { profiles, problems }
  }
  for (const name of names) {
    const file = join(dir, name)
    const id = name.replace(/\.ya?ml$/, '')
    const doc = parseDocument(readFileSync(file, 'utf8'), { uniqueKeys: true })
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const p = yamlProblem(e)
        const at = p.line === undefined ? '' : `:${p.line}:${p.col ?? 1}`
        problems.push({ path: '', message: `${file}${at}: ${p.message}` })
      }
      continue
    }
    const parsed = profileSchema.safeParse(doc.toJS(), { reportInput: true })
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        for (const p of problemsFromIssue(issue, (path) => allowedKeys(profileSchema, path))) {
          const at = formatPath(p.path)
          problems.push({ path: '', message: `${file}: ${at === '' ? '' : `${at}: `}${p.message}` })
        }
      }
      continue
    }
    const v = parsed.data
    profiles.set(id, {
      id,
      name: v.name,
      description: v.description,
      metrics: v.metrics,
      payload: { fields: v.payload.fields, units: v.payload.units },
      derive: v.derive,
    })
  }
  return { profiles, problems }
}
