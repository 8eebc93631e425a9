/**
 * Zigbee2MQTT: `zigbee2mqtt/<friendly name>` carries one device's state as flat JSON
 * (`{"battery":97,"humidity":52.66,"linkquality":134,"temperature":21.45,"voltage":2995}`).
 * The friendly name may contain `/`. `zigbee2mqtt/bridge/...` and the `/availability`,
 * `/set`, `/get` sub-topics are not readings and are skipped. `voltage` is millivolts,
 * `pressure` hPa, `co2` ppm, `illuminance_lux` (or `illuminance`) lux, `pm25` µg/m³.
 * `linkquality` and other attributes are ignored.
 */
import { type Preset, refuse, SampleList, SKIP } from './preset.js'

const FIELDS: ReadonlyArray<readonly [string, string, string | undefined]> = [
  ['temperature', 'temperature', 'C'],
  ['humidity', 'humidity', '%'],
  ['pressure', 'pressure', 'hPa'],
  ['battery', 'battery', '%'],
  ['voltage', 'voltage', 'mV'],
  ['co2', 'co2', 'ppm'],
  ['illuminance_lux', 'illuminance', 'lx'],
  ['pm25', 'pm2_5', 'ug/m3'],
]
const NOT_READINGS = ['/availability', '/set', '/get']

export const zigbee2mqtt: Preset = {
  name: 'zigbee2mqtt',
  summary: 'Zigbee2MQTT device state on zigbee2mqtt/<friendly name>',
  pattern: 'zigbee2mqtt/{device}',
  format: 'json',
  multiLevelDevice: true,
  decode(topic, payload) {
    const device = topic.device ?? ''
    if (device === 'bridge' || device.startsWith('bridge/')) return SKIP
    for (const suffix of NOT_READINGS) if (device.endsWith(suffix)) return SKIP
    const obj = payload as Record<string, unknown>
    const out = new SampleList()
    for (const [field, metric, unit] of FIELDS) out.take(device, metric, field, obj[field], unit)
    // Older converters name lux `illuminance`; the newer field wins when both are sent.
    if (obj.illuminance_lux === undefined)
      out.take(device, 'illuminance', 'illuminance', obj.illuminance, 'lx')
    if (out.samples.length === 0 && out.bad === undefined)
      return refuse(
        'missing-field',
        'temperature',
        `none of the fields ${FIELDS.map(([f]) => f).join(', ')} is present`,
      )
    return out.outcome()
  },
}
