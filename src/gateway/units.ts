/**
 * Units sensors publish in, and their conversion to the canonical units of `Reading`
 * (°C, % RH, hPa).
 */
import type { Metric } from './reading.js'

export const TEMPERATURE_UNITS = ['C', 'F', 'K'] as const
export const HUMIDITY_UNITS = ['%'] as const
export const PRESSURE_UNITS = ['hPa', 'Pa', 'kPa'] as const

export interface UnitChoice {
  temperature: (typeof TEMPERATURE_UNITS)[number]
  humidity: (typeof HUMIDITY_UNITS)[number]
  pressure: (typeof PRESSURE_UNITS)[number]
}

/** JSON field names of a payload: one per metric, plus timestamp and message id. */
export interface PayloadFields {
  temperature: string
  humidity: string
  pressure: string
  timestamp: string
  messageId: string
}

export const DEFAULT_FIELDS: Readonly<PayloadFields> = {
  temperature: 'temperature',
  humidity: 'humidity',
  pressure: 'pressure',
  timestamp: 'ts',
  messageId: 'id',
}

export const CANONICAL_UNITS: Readonly<UnitChoice> = {
  temperature: 'C',
  humidity: '%',
  pressure: 'hPa',
}

/** Display form of the canonical unit, for messages. */
export const UNIT_LABEL: Readonly<Record<Metric, string>> = {
  temperature: '°C',
  humidity: '% RH',
  pressure: 'hPa',
}

export type Conversion = (value: number) => number

const identity: Conversion = (v) => v

/** A converter from `unit` to the canonical unit of `metric`. */
export function conversionTo(metric: Metric, unit: string): Conversion {
  if (metric === 'temperature') {
    if (unit === 'F') return (v) => ((v - 32) * 5) / 9
    if (unit === 'K') return (v) => v - 273.15
    return identity
  }
  if (metric === 'pressure') {
    if (unit === 'Pa') return (v) => v / 100
    if (unit === 'kPa') return (v) => v * 10
  }
  return identity
}
