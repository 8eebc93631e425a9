/**
 * Derived metrics: computed from a device's temperature (°C) and relative humidity (% RH)
 * with the Magnus formula, then stored, aggregated and alerted on like measured ones.
 *
 * Constants: Sonntag (1990), over water, a = 17.62, b = 243.12 °C, saturation vapour
 * pressure Es(T) = 6.112 hPa * exp(a*T / (b + T)). Dew point from these constants is
 * within ±0.35 °C for -45 °C <= T <= 60 °C; outside that range (and below 1 % RH) no
 * value is derived rather than a wrong one. Documented in docs/sensors.md.
 */

export const DERIVED_METRICS = ['dew_point', 'dew_point_spread', 'absolute_humidity'] as const
export type DerivedMetric = (typeof DERIVED_METRICS)[number]

const A = 17.62
const B = 243.12
/** hPa at 0 °C. */
const E0 = 6.112
/** Specific gas constant of water vapour, J/(kg*K): AH = e / (Rw * T). */
const RW = 461.5

export const MAGNUS_MIN_C = -45
export const MAGNUS_MAX_C = 60
const MIN_RH = 1

/** True when temperature and humidity are inside the formula's accuracy range. */
export function magnusApplies(celsius: number, rh: number): boolean {
  return celsius >= MAGNUS_MIN_C && celsius <= MAGNUS_MAX_C && rh >= MIN_RH && rh <= 100
}

/** Dew point, °C. */
export function dewPoint(celsius: number, rh: number): number {
  const gamma = Math.log(rh / 100) + (A * celsius) / (B + celsius)
  return (B * gamma) / (A - gamma)
}

/** Absolute humidity, g/m³ (water vapour density). */
export function absoluteHumidity(celsius: number, rh: number): number {
  const vapourHpa = (rh / 100) * E0 * Math.exp((A * celsius) / (B + celsius))
  return ((vapourHpa * 100) / (RW * (celsius + 273.15))) * 1000
}

/** The value of one derived metric, rounded to what the inputs can support. */
export function derive(metric: DerivedMetric, celsius: number, rh: number): number {
  if (metric === 'absolute_humidity') return round(absoluteHumidity(celsius, rh), 100)
  const dp = dewPoint(celsius, rh)
  return round(metric === 'dew_point' ? dp : celsius - dp, 100)
}

function round(v: number, per: number): number {
  return Math.round(v * per) / per
}
