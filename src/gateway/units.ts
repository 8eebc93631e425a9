/**
 * Payload field names and units as configured (per topic, per profile). Metric units and
 * conversions themselves live in metrics.ts.
 */
import { BUILTIN_METRICS, type Conversion, conversionTo } from './metrics.js'
import type { DeviceProfile } from './profile.js'

export { type Conversion, conversionTo, unitLabel, unitNames } from './metrics.js'

/**
 * JSON field paths of a payload: one per metric (`temperature`, or a nested path such as
 * `AM2301.Temperature`), plus `timestamp` and `messageId`.
 */
const identity: Conversion = (v) => v

export type PayloadFields = Readonly<Record<string, string>>

/** The unit each metric is published in, by metric name (`{ temperature: F }`). */
export type UnitChoice = Readonly<Record<string, string>>

/** Field names used when neither the topic nor the profile names one. */
export const DEFAULT_TIMESTAMP_FIELD = 'ts'
export const DEFAULT_MESSAGE_ID_FIELD = 'id'

/** From `unit` (else the profile's, else canonical) to the metric's canonical unit. */
export function metricConversion(
  metric: string,
  unit: string | undefined,
  profile: DeviceProfile,
): Conversion {
  const u = unit ?? profile.payload.units[metric] ?? BUILTIN_METRICS[metric]?.canonical ?? ''
  return conversionTo(metric, u) ?? identity
}
