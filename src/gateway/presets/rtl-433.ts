/**
 * rtl_433 (433/868 MHz weather sensors through an SDR): every decoded sensor arrives on
 * one events topic (`rtl_433/<host>/events`, its `-F mqtt` default), so the device id is
 * built from the payload: `<model>-<channel>-<id>`, or `<model>-<id>` for a sensor without
 * a channel. `temperature_C` (or `temperature_F`), `humidity`, `battery_ok` (1 -> 100 %,
 * 0 -> 0 %; some decoders send a fraction), `pressure_hPa` / `pressure_kPa`, `light_lux`
 * and `pm2_5_ug_m3` are read; `mic`, `test`, `rssi` and other fields are ignored. `time`
 * is local time without a zone: used only when the topic declares `timezone:`.
 */
import { clip } from '../payload-refusal.js'
import { type Preset, refuse, SampleList } from './preset.js'

const FIELDS: ReadonlyArray<readonly [string, string, string, number]> = [
  ['temperature_C', 'temperature', 'C', 1],
  ['humidity', 'humidity', '%', 1],
  ['battery_ok', 'battery', '%', 100],
  ['pressure_hPa', 'pressure', 'hPa', 1],
  ['pressure_kPa', 'pressure', 'kPa', 1],
  ['light_lux', 'illuminance', 'lx', 1],
  ['pm2_5_ug_m3', 'pm2_5', 'ug/m3', 1],
]

export const rtl433: Preset = {
  name: 'rtl_433',
  summary: 'rtl_433 decoded radio sensors on rtl_433/<host>/events',
  pattern: 'rtl_433/+/events',
  format: 'json',
  deviceFromPayload: true,
  decode(_topic, payload) {
    const obj = payload as Record<string, unknown>
    const model = obj.model
    if (typeof model !== 'string' || model === '')
      return refuse('missing-field', 'model', 'no "model" string naming the sensor type')
    const id = obj.id
    if (typeof id !== 'number' && typeof id !== 'string')
      return refuse('missing-field', 'id', `no "id" for the ${clip(model)} sensor`)
    const channel = obj.channel
    const device =
      typeof channel === 'number' || typeof channel === 'string'
        ? `${model}-${channel}-${id}`
        : `${model}-${id}`
    const out = new SampleList()
    for (const [field, metric, unit, scale] of FIELDS)
      out.take(device, metric, field, obj[field], unit, scale)
    if (obj.temperature_C === undefined)
      out.take(device, 'temperature', 'temperature_F', obj.temperature_F, 'F')
    if (out.samples.length === 0 && out.bad === undefined)
      return refuse(
        'missing-field',
        'temperature_C',
        `the ${clip(model)} event has none of the fields ${[...FIELDS.map(([f]) => f), 'temperature_F'].join(', ')}`,
      )
    return out.outcome(
      obj.time === undefined ? undefined : { field: 'time', value: obj.time, local: true },
    )
  },
}
