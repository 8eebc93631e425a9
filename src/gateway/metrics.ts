/**
 * The metrics floxgate knows without configuration, with their canonical unit (the unit
 * every `Reading` carries), the units sensors publish them in, and physical limits for
 * the generic profile. A config's `metrics:` and a profile's metric `unit:` add more; a
 * metric is just a name past parsing, so rules, aggregates, exports and status treat
 * every metric alike.
 */

/** A metric name: lower case letters, digits and `_`, starting with a letter. */
export type Metric = string

export const METRIC_NAME = /^[a-z][a-z0-9_]{0,39}$/

export interface MetricDefinition {
  /** The canonical unit as shown to people, e.g. `°C`. */
  readonly label: string
  /** Unit names a sensor may publish in -> factor/offset to the canonical unit. */
  readonly units: Readonly<Record<string, Conversion>>
  /** The unit a payload is in when nothing says otherwise. */
  readonly canonical: string
}

export type Conversion = (value: number) => number

const identity: Conversion = (v) => v

const temperatureUnits: Record<string, Conversion> = {
  C: identity,
  F: (v) => ((v - 32) * 5) / 9,
  K: (v) => v - 273.15,
}

export const BUILTIN_METRICS: Readonly<Record<string, MetricDefinition>> = {
  temperature: { label: '°C', canonical: 'C', units: temperatureUnits },
  humidity: { label: '% RH', canonical: '%', units: { '%': identity } },
  pressure: {
    label: 'hPa',
    canonical: 'hPa',
    units: {
      hPa: identity,
      Pa: (v) => v / 100,
      kPa: (v) => v * 10,
      mmHg: (v) => v * 1.333224,
      inHg: (v) => v * 33.863886,
    },
  },
  battery: { label: '%', canonical: '%', units: { '%': identity } },
  voltage: { label: 'V', canonical: 'V', units: { V: identity, mV: (v) => v / 1000 } },
  co2: { label: 'ppm', canonical: 'ppm', units: { ppm: identity } },
  illuminance: { label: 'lx', canonical: 'lx', units: { lx: identity } },
  pm2_5: { label: 'µg/m³', canonical: 'ug/m3', units: { 'ug/m3': identity, 'µg/m³': identity } },
  // Derived from temperature and relative humidity (see derived.ts); never parsed.
  dew_point: { label: '°C', canonical: 'C', units: temperatureUnits },
  dew_point_spread: { label: '°C', canonical: 'C', units: { C: identity, K: identity } },
  absolute_humidity: { label: 'g/m³', canonical: 'g/m3', units: { 'g/m3': identity } },
}

/** The converter from `unit` to the canonical unit of `metric`; undefined if unknown. */
export function conversionTo(metric: Metric, unit: string): Conversion | undefined {
  const def = BUILTIN_METRICS[metric]
  if (def === undefined) return identity
  return def.units[unit]
}

/** The unit names `metric` may be published in, for messages. */
export function unitNames(metric: Metric): string[] {
  const def = BUILTIN_METRICS[metric]
  return def === undefined ? [] : Object.keys(def.units)
}

/** The label of the canonical unit of a built-in metric, '' for others. */
export function unitLabel(metric: Metric): string {
  return BUILTIN_METRICS[metric]?.label ?? ''
}

export function isBuiltinMetric(metric: string): boolean {
  return Object.hasOwn(BUILTIN_METRICS, metric)
}
