/**
 * ESPHome's MQTT component: `<node>/sensor/<object id>/state` carries one plain number in
 * the unit the sensor is configured with. The metric comes from the object id
 * (`living_room_temperature` -> temperature); names that say nothing are mapped in the
 * topic's `sensors:` (`{ t1: temperature, "node-a/t2": humidity, uptime: ignore }`).
 * `wifi_signal`, `uptime` and `rssi` sensors are skipped; `status` and `debug` topics do
 * not match the pattern.
 */
import { numberOutcome, type Preset, refuse, SKIP } from './preset.js'

/** Checked in order: `battery_voltage` is a voltage, `pm2_5` is not a `5`-anything. */
const WORDS: ReadonlyArray<readonly [RegExp, string]> = [
  [/pm_?2_?5/, 'pm2_5'],
  [/co2/, 'co2'],
  [/humidity/, 'humidity'],
  [/temperature|(^|_)temp(_|$)/, 'temperature'],
  [/pressure/, 'pressure'],
  [/voltage/, 'voltage'],
  [/battery/, 'battery'],
  [/illuminance|(^|_)lux(_|$)/, 'illuminance'],
]
const SKIPPED = /wifi_signal|uptime|rssi/

export const esphome: Preset = {
  name: 'esphome',
  summary: 'ESPHome sensor states on <node>/sensor/<object id>/state',
  pattern: '{device}/sensor/{sensor}/state',
  format: 'number',
  decode(topic, payload, settings) {
    const device = topic.device ?? ''
    const sensor = topic.segment ?? ''
    const mapped = settings.sensors[`${device}/${sensor}`] ?? settings.sensors[sensor]
    let metric = mapped
    if (metric === undefined) {
      if (SKIPPED.test(sensor)) return SKIP
      metric = WORDS.find(([re]) => re.test(sensor))?.[1]
    }
    if (metric === 'ignore') return SKIP
    if (metric === undefined)
      return refuse(
        'unknown-metric',
        `sensor/${sensor}`,
        `the object id "${sensor}" names no metric; map it in the topic's sensors: (e.g. { ${sensor}: temperature } or ignore)`,
      )
    return numberOutcome(device, metric, payload as string, `sensor/${sensor}`)
  },
}
