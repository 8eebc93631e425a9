/**
 * Device profiles: what a sensor model measures, its physical range per metric and the
 * payload shape it publishes by default. Loaded from `devices/*.yaml` by the config.
 */

import type { DerivedMetric } from './derived.js'
import { BUILTIN_METRICS } from './metrics.js'
import type { Metric } from './reading.js'
import type { PayloadFields, UnitChoice } from './units.js'

export interface MetricSpec {
  /** Physical range in the canonical unit; readings outside it are refused. */
  readonly min: number
  readonly max: number
  /** Smallest step the sensor reports, canonical unit (informational). */
  readonly resolution?: number | undefined
  /** Typical accuracy, canonical unit (informational). */
  readonly accuracy?: number | undefined
  /** Unit label of a metric floxgate does not know built in (e.g. `ppb`). */
  readonly unit?: string | undefined
}

export interface DeviceProfile {
  readonly id: string
  readonly name: string
  readonly description?: string | undefined
  readonly metrics: Readonly<Record<Metric, MetricSpec>>
  /** Default JSON field names and units; a sensor topic's own settings take precedence. */
  readonly payload: {
    readonly fields: PayloadFields
    readonly units: UnitChoice
  }
  /** Derived metrics computed for devices of this profile (derived.ts). */
  readonly derive: readonly DerivedMetric[]
}

/** The metrics a profile measures, in the profile's order. */
export function profileMetrics(profile: DeviceProfile): Metric[] {
  return Object.keys(profile.metrics)
}

/**
 * The unit label of every metric a device of this profile may store, as people read it
 * (`°C`, `ppm`, a declared metric's own label): built-in metrics, measured or derived,
 * then the profile's declared ones.
 */
export function profileUnits(profile: DeviceProfile): Readonly<Record<Metric, string>> {
  const units: Record<Metric, string> = {}
  for (const [m, def] of Object.entries(BUILTIN_METRICS)) units[m] = def.label
  for (const [m, spec] of Object.entries(profile.metrics))
    if (spec.unit !== undefined) units[m] = spec.unit
  return units
}
