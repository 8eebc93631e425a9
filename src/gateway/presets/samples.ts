/**
 * One real-shaped message per preset, as docs/sensors.md shows them, with the readings
 * each must give. Tests send them through the daemon and the benchmark measures their
 * cost; keeping them here keeps docs, tests and benchmark on the same payloads.
 */

export interface PresetSample {
  readonly preset: string
  readonly topic: string
  readonly payload: string
  /** device, metric, value in the canonical unit. */
  readonly readings: ReadonlyArray<readonly [string, string, number]>
}

/** `nowSeconds` fills payload timestamps that are epoch times (Shelly Gen2's `params.ts`). */
export function presetSamples(nowSeconds = 1703419247.27): PresetSample[] {
  return [
    {
      preset: 'tasmota',
      topic: 'tele/tasmota_A1B2C3/SENSOR',
      payload:
        '{"Time":"2026-03-01T12:00:00","AM2301":{"Temperature":21.3,"Humidity":45.2,"DewPoint":8.9},"TempUnit":"C"}',
      readings: [
        ['tasmota_A1B2C3', 'temperature', 21.3],
        ['tasmota_A1B2C3', 'humidity', 45.2],
      ],
    },
    {
      preset: 'zigbee2mqtt',
      topic: 'zigbee2mqtt/kitchen/aqara',
      payload:
        '{"battery":97,"humidity":52.66,"linkquality":134,"temperature":21.45,"voltage":2995}',
      readings: [
        ['kitchen/aqara', 'temperature', 21.45],
        ['kitchen/aqara', 'humidity', 52.66],
        ['kitchen/aqara', 'battery', 97],
        ['kitchen/aqara', 'voltage', 2.995],
      ],
    },
    {
      preset: 'esphome',
      topic: 'livingroom/sensor/living_room_temperature/state',
      payload: '21.6',
      readings: [['livingroom', 'temperature', 21.6]],
    },
    {
      preset: 'shelly',
      topic: 'shellies/shellyht-C45BBE6A1B2C/sensor/humidity',
      payload: '51.5',
      readings: [['shellyht-C45BBE6A1B2C', 'humidity', 51.5]],
    },
    {
      preset: 'shelly',
      topic: 'shellyplusht-08b61fd1f4ac/events/rpc',
      payload: `{"src":"shellyplusht-08b61fd1f4ac","dst":"shellyplusht-08b61fd1f4ac/events","method":"NotifyStatus","params":{"ts":${nowSeconds},"temperature:0":{"id":0,"tC":21.7,"tF":71.0},"humidity:0":{"id":0,"rh":54.2}}}`,
      readings: [
        ['shellyplusht-08b61fd1f4ac', 'temperature', 21.7],
        ['shellyplusht-08b61fd1f4ac', 'humidity', 54.2],
      ],
    },
    {
      preset: 'rtl_433',
      topic: 'rtl_433/pi/events',
      payload:
        '{"time":"2026-12-01 22:19:40","model":"LaCrosse-TX141W","id":107187,"channel":1,"battery_ok":1,"temperature_C":21.4,"humidity":48,"mic":"CRC"}',
      readings: [
        ['LaCrosse-TX141W-1-107187', 'temperature', 21.4],
        ['LaCrosse-TX141W-1-107187', 'humidity', 48],
        ['LaCrosse-TX141W-1-107187', 'battery', 100],
      ],
    },
    {
      preset: 'openmqttgateway',
      topic: 'home/OMG_ESP32_BLE/BTtoMQTT/A4C138123456',
      payload:
        '{"id":"A4:C1:38:12:34:56","model":"LYWSD03MMC","tempc":21.4,"tempf":70.52,"hum":48,"batt":87,"volt":2.95}',
      readings: [
        ['A4C138123456', 'temperature', 21.4],
        ['A4C138123456', 'humidity', 48],
        ['A4C138123456', 'battery', 87],
        ['A4C138123456', 'voltage', 2.95],
      ],
    },
  ]
}
