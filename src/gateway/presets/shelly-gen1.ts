/**
 * Shelly Gen1 (H&T, Flood, Door/Window...): `shellies/<id>/sensor/<name>` carries one
 * plain value. `temperature` (in the unit set on the device, °C unless `units:` says F),
 * `humidity`, `battery` and `lux` are read; `act_reasons`, `ext_power`, `error`, `tilt`
 * and other names are skipped.
 */
import { numberOutcome, type Preset, SKIP } from './preset.js'

const METRICS: Readonly<Record<string, string>> = {
  temperature: 'temperature',
  humidity: 'humidity',
  battery: 'battery',
  lux: 'illuminance',
}

export const shellyGen1: Preset = {
  name: 'shelly-gen1',
  summary: 'Shelly Gen1 sensors on shellies/<id>/sensor/<name>',
  pattern: 'shellies/{device}/sensor/{metric}',
  format: 'number',
  decode(topic, payload) {
    const metric = METRICS[topic.segment ?? '']
    if (metric === undefined) return SKIP
    return numberOutcome(topic.device ?? '', metric, payload as string, `sensor/${topic.segment}`)
  },
}
