/**
 * OpenMQTTGateway's BLE gateway (Theengs decoder): `home/<gateway>/BTtoMQTT/<MAC>` with
 * `{"id":"A4:C1:38:12:34:56","model":"LYWSD03MMC","tempc":21.4,"hum":48,"batt":87,"volt":2.95}`.
 * The device id is the topic's MAC segment. `tempc` (or `tempf`), `hum`, `batt`, `volt`,
 * `lux`, `pres` (hPa), `co2` and `pm25` are read. An advertisement without `model` (a
 * phone, a beacon: presence, not a reading) is skipped; `rssi`, `brand` and others are
 * ignored.
 */
import { describe, type Preset, refuse, SampleList, SKIP } from './preset.js'

const FIELDS: ReadonlyArray<readonly [string, string, string]> = [
  ['tempc', 'temperature', 'C'],
  ['hum', 'humidity', '%'],
  ['batt', 'battery', '%'],
  ['volt', 'voltage', 'V'],
  ['lux', 'illuminance', 'lx'],
  ['pres', 'pressure', 'hPa'],
  ['co2', 'co2', 'ppm'],
  ['pm25', 'pm2_5', 'ug/m3'],
]

export const openmqttgateway: Preset = {
  name: 'openmqttgateway',
  summary: 'OpenMQTTGateway BLE sensors on home/<gateway>/BTtoMQTT/<MAC>',
  pattern: 'home/+/BTtoMQTT/{device}',
  format: 'json',
  decode(topic, payload) {
    const obj = payload as Record<string, unknown>
    if (obj.model === undefined) return SKIP
    const device = topic.device ?? ''
    const out = new SampleList()
    for (const [field, metric, unit] of FIELDS) out.take(device, metric, field, obj[field], unit)
    if (obj.tempc === undefined) out.take(device, 'temperature', 'tempf', obj.tempf, 'F')
    if (out.samples.length === 0 && out.bad === undefined)
      return refuse(
        'missing-field',
        'tempc',
        `the ${describe(obj.model)} advertisement has none of the fields ${FIELDS.map(([f]) => f).join(', ')}, tempf`,
      )
    return out.outcome()
  },
}
