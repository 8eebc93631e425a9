/**
 * The presets by name. `shelly` stands for both Shelly generations (two patterns); the
 * others are one pattern each.
 */
import { esphome } from './esphome.js'
import { openmqttgateway } from './openmqttgateway.js'
import type { Preset } from './preset.js'
import { rtl433 } from './rtl-433.js'
import { shellyGen1 } from './shelly-gen1.js'
import { shellyGen2 } from './shelly-gen2.js'
import { tasmota } from './tasmota.js'
import { zigbee2mqtt } from './zigbee2mqtt.js'

export type { Preset } from './preset.js'

const PRESETS: Readonly<Record<string, readonly Preset[]>> = {
  tasmota: [tasmota],
  zigbee2mqtt: [zigbee2mqtt],
  esphome: [esphome],
  shelly: [shellyGen1, shellyGen2],
  'shelly-gen1': [shellyGen1],
  'shelly-gen2': [shellyGen2],
  rtl_433: [rtl433],
  openmqttgateway: [openmqttgateway],
}

export const PRESET_NAMES: readonly string[] = Object.keys(PRESETS)

/** The presets a config name stands for, or undefined for an unknown name. */
export function presetsNamed(name: string): readonly Preset[] | undefined {
  return Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined
}
