/**
 * How each metric floxgate stores is spelled for Home Assistant: its sensor device class
 * and the unit exactly as Home Assistant writes it (stored values are normalised to
 * these units). Metrics without a device class get none, only the unit.
 */
export interface HaMetric {
  readonly deviceClass: string | undefined
  readonly unit: string | undefined
  /** Entity name shown under the device. */
  readonly name: string
}

const KNOWN: Readonly<Record<string, HaMetric>> = {
  temperature: { deviceClass: 'temperature', unit: '°C', name: 'Temperature' },
  humidity: { deviceClass: 'humidity', unit: '%', name: 'Humidity' },
  pressure: { deviceClass: 'pressure', unit: 'hPa', name: 'Pressure' },
  battery: { deviceClass: 'battery', unit: '%', name: 'Battery' },
  voltage: { deviceClass: 'voltage', unit: 'V', name: 'Voltage' },
  co2: { deviceClass: 'carbon_dioxide', unit: 'ppm', name: 'CO2' },
  carbon_dioxide: { deviceClass: 'carbon_dioxide', unit: 'ppm', name: 'CO2' },
  illuminance: { deviceClass: 'illuminance', unit: 'lx', name: 'Illuminance' },
  pm2_5: { deviceClass: 'pm25', unit: 'µg/m³', name: 'PM2.5' },
  // Derived metrics (gateway/derived.ts).
  dew_point: { deviceClass: 'temperature', unit: '°C', name: 'Dew point' },
  dew_point_spread: { deviceClass: undefined, unit: '°C', name: 'Dew point spread' },
  absolute_humidity: { deviceClass: 'absolute_humidity', unit: 'g/m³', name: 'Absolute humidity' },
}

export function haMetric(metric: string): HaMetric {
  return (
    KNOWN[metric] ?? {
      deviceClass: undefined,
      unit: undefined,
      name: metric.charAt(0).toUpperCase() + metric.slice(1),
    }
  )
}
