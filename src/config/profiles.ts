/**
 * Device profiles from a folder of `<id>.yaml` files (the package's `devices/` by default).
 * The profile id is the file name.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseDocument } from 'yaml'
import { z } from 'zod'
import type { DeviceProfile } from '../gateway/profile.js'
import { HUMIDITY_UNITS, PRESSURE_UNITS, TEMPERATURE_UNITS } from '../gateway/units.js'
import { allowedKeys, type ConfigProblem, formatPath, problemsFromIssue } from './problems.js'
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
  })
  .refine((s) => s.min < s.max, { error: 'must have min below max' })

const text = z.string().min(1)

const profileSchema = z.strictObject({
  name: text,
  description: text.optional(),
  metrics: z
    .strictObject({
      temperature: metricSpec.optional(),
      humidity: metricSpec.optional(),
      pressure: metricSpec.optional(),
    })
    .refine((m) => Object.values(m).some((s) => s !== undefined), {
      error: 'must list at least one of temperature, humidity, pressure',
    }),
  payload: z
    .strictObject({
      fields: z
        .strictObject({
          temperature: text.optional(),
          humidity: text.optional(),
          pressure: text.optional(),
          timestamp: text.optional(),
          messageId: text.optional(),
        })
        .default({}),
      units: z
        .strictObject({
          temperature: z.enum(TEMPERATURE_UNITS).optional(),
          humidity: z.enum(HUMIDITY_UNITS).optional(),
          pressure: z.enum(PRESSURE_UNITS).optional(),
        })
        .default({}),
    })
    .prefault({}),
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
    })
  }
  return { profiles, problems }
}
