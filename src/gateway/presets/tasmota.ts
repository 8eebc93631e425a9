/**
 * Tasmota's `tele/<topic>/SENSOR` telemetry: one object per attached sensor, named by the
 * driver (`AM2301`, `SI7021`, `BME280`, `DS18B20`, `DS18B20-1`, `SHT3X`, `SCD40`...), with
 * `TempUnit` and `PressureUnit` beside them and `Time` as local time without a zone.
 * `DewPoint` and `SeaPressure` are ignored (floxgate derives a dew point itself), and so
 * is `ESP32` (the chip's own temperature, not the room's).
 */
import { type Preset, record, refuse, SampleList } from './preset.js'

/** Tasmota's key in a sensor object -> floxgate metric. */
const KEYS: ReadonlyArray<readonly [string, string]> = [
  ['Temperature', 'temperature'],
  ['Humidity', 'humidity'],
  ['Pressure', 'pressure'],
  ['CarbonDioxide', 'co2'],
  ['Illuminance', 'illuminance'],
  ['PM2.5', 'pm2_5'],
]
const IGNORED_OBJECTS = new Set(['ESP32', 'ESP8266'])
const TEMP_UNITS: Readonly<Record<string, string>> = { C: 'C', F: 'F' }
const PRESSURE_UNITS: Readonly<Record<string, string>> = { hPa: 'hPa', mmHg: 'mmHg', inHg: 'inHg' }

export const tasmota: Preset = {
  name: 'tasmota',
  summary: 'Tasmota tele/<topic>/SENSOR telemetry',
  pattern: 'tele/{device}/SENSOR',
  format: 'json',
  decode(topic, payload) {
    const obj = payload as Record<string, unknown>
    const topicDevice = topic.device ?? ''
    const tempUnit = obj.TempUnit === undefined ? 'C' : TEMP_UNITS[String(obj.TempUnit)]
    if (tempUnit === undefined)
      return refuse(
        'not-a-number',
        'TempUnit',
        `TempUnit ${JSON.stringify(obj.TempUnit)} is neither C nor F`,
      )
    const pressureUnit =
      obj.PressureUnit === undefined ? 'hPa' : PRESSURE_UNITS[String(obj.PressureUnit)]
    if (pressureUnit === undefined)
      return refuse(
        'not-a-number',
        'PressureUnit',
        `PressureUnit ${JSON.stringify(obj.PressureUnit)} is not hPa, mmHg or inHg`,
      )
    const sensors: Array<[string, Record<string, unknown>]> = []
    for (const key in obj) {
      const inner = record(obj[key])
      if (inner === undefined || IGNORED_OBJECTS.has(key)) continue
      if (KEYS.some(([k]) => inner[k] !== undefined)) sensors.push([key, inner])
    }
    if (sensors.length === 0)
      return refuse(
        'missing-field',
        '<sensor>.Temperature',
        `no sensor object with ${KEYS.map(([k]) => k).join(', ')} in the payload`,
      )
    const out = new SampleList()
    // One sensor: the device is the topic's. Several: one device per sensor object.
    for (const [name, inner] of sensors) {
      const device = sensors.length === 1 ? topicDevice : `${topicDevice}-${name}`
      for (const [key, metric] of KEYS) {
        const unit =
          metric === 'temperature' ? tempUnit : metric === 'pressure' ? pressureUnit : undefined
        out.take(device, metric, `${name}.${key}`, inner[key], unit)
      }
    }
    return out.outcome(
      obj.Time === undefined ? undefined : { field: 'Time', value: obj.Time, local: true },
    )
  },
}
