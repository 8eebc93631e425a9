import { describe, expect, it } from 'vitest'
import { Classifier } from '../../src/gateway/classifier.js'
import { presetSamples } from '../../src/gateway/presets/samples.js'
import { ReadingParser, type SensorTopicConfig } from '../../src/gateway/reading-parser.js'
import { device, directory } from './fixtures.js'

const NOW = Date.parse('2026-12-01T22:20:00Z')

function parser(topics: SensorTopicConfig[], devices = directory([])) {
  return new ReadingParser({ topics, devices, maxPayloadBytes: 65536 })
}
const preset = (name: string, extra: Partial<SensorTopicConfig> = {}): SensorTopicConfig => ({
  preset: name,
  format: 'json',
  ...extra,
})
const send = (p: ReadingParser, topic: string, payload: string) =>
  p.parse(topic, Buffer.from(payload), NOW)
const triples = (out: ReturnType<ReadingParser['parse']>) =>
  out.readings.map((r) => [r.device, r.metric, Math.round(r.value * 1e6) / 1e6])

describe('presets read the payloads firmware really sends', () => {
  const all = parser(
    ['tasmota', 'zigbee2mqtt', 'esphome', 'shelly', 'rtl_433', 'openmqttgateway'].map((n) =>
      preset(n),
    ),
  )
  for (const s of presetSamples(NOW / 1000)) {
    it(`${s.preset}: ${s.topic}`, () => {
      const out = send(all, s.topic, s.payload)
      expect(out.deadLetters).toEqual([])
      expect(triples(out)).toEqual(s.readings)
    })
  }

  it('subscribes to each preset topic once (shelly has two)', () => {
    expect(all.subscriptions).toEqual([
      'tele/+/SENSOR',
      'zigbee2mqtt/#',
      '+/sensor/+/state',
      'shellies/+/sensor/+',
      '+/events/rpc',
      'rtl_433/+/events',
      'home/+/BTtoMQTT/+',
    ])
  })

  it('a pattern override replaces the default topic', () => {
    const p = parser([preset('tasmota', { pattern: 'tasmota/tele/{device}/SENSOR' })])
    expect(p.subscriptions).toEqual(['tasmota/tele/+/SENSOR'])
    const out = send(p, 'tasmota/tele/t1/SENSOR', '{"SI7021":{"Temperature":20}}')
    expect(triples(out)).toEqual([['t1', 'temperature', 20]])
  })
})

describe('units, several sensors, timestamps', () => {
  it('tasmota: °F, mmHg, several sensor objects become one device each', () => {
    const p = parser([preset('tasmota')])
    const out = send(
      p,
      'tele/garden/SENSOR',
      '{"BME280":{"Temperature":68,"Humidity":40,"Pressure":760},"DS18B20-1":{"Id":"01","Temperature":50},"ESP32":{"Temperature":45},"TempUnit":"F","PressureUnit":"mmHg"}',
    )
    expect(triples(out)).toEqual([
      ['garden-BME280', 'temperature', 20],
      ['garden-BME280', 'humidity', 40],
      ['garden-BME280', 'pressure', 1013.25024],
      ['garden-DS18B20-1', 'temperature', 10],
    ])
  })

  it('tasmota: Time is local, read in the declared timezone (DST included), else receive time', () => {
    const payload = '{"Time":"2026-07-01T12:00:00","SHT3X":{"Temperature":21}}'
    const noZone = send(parser([preset('tasmota')]), 'tele/t/SENSOR', payload)
    expect(noZone.readings[0]).toMatchObject({ ts: NOW, tsFromReceive: true })
    const berlin = send(
      parser([preset('tasmota', { timezone: 'Europe/Berlin' })]),
      'tele/t/SENSOR',
      payload,
    )
    expect(berlin.readings[0]?.ts).toBe(Date.parse('2026-07-01T10:00:00Z'))
    const winter = send(
      parser([preset('tasmota', { timezone: 'Europe/Berlin' })]),
      'tele/t/SENSOR',
      '{"Time":"2026-01-15T12:00:00","SHT3X":{"Temperature":21}}',
    )
    expect(winter.readings[0]?.ts).toBe(Date.parse('2026-01-15T11:00:00Z'))
    const fixed = send(
      parser([preset('rtl_433', { timezone: '-05:00' })]),
      'rtl_433/x/events',
      '{"time":"2026-12-01 17:19:40","model":"M","id":1,"temperature_C":1}',
    )
    expect(fixed.readings[0]?.ts).toBe(Date.parse('2026-12-01T22:19:40Z'))
  })

  it('rtl_433: temperature_F, no channel, battery_ok 0', () => {
    const out = send(
      parser([preset('rtl_433')]),
      'rtl_433/pi/events',
      '{"model":"Acurite-Tower","id":"A","temperature_F":50,"battery_ok":0}',
    )
    expect(triples(out)).toEqual([
      ['Acurite-Tower-A', 'battery', 0],
      ['Acurite-Tower-A', 'temperature', 10],
    ])
  })

  it('esphome: object ids name the metric; a config map names the rest; units: converts', () => {
    const p = parser([
      preset('esphome', {
        format: 'number',
        sensors: { t1: 'temperature', 'node-b/t1': 'humidity', boot_count: 'ignore' },
        units: { temperature: 'F' },
      }),
    ])
    expect(triples(send(p, 'node-a/sensor/t1/state', '212'))).toEqual([
      ['node-a', 'temperature', 100],
    ])
    expect(triples(send(p, 'node-b/sensor/t1/state', '40'))).toEqual([['node-b', 'humidity', 40]])
    expect(triples(send(p, 'node-a/sensor/battery_voltage/state', '3.1'))).toEqual([
      ['node-a', 'voltage', 3.1],
    ])
    expect(triples(send(p, 'node-a/sensor/pm_2_5/state', '12'))).toEqual([['node-a', 'pm2_5', 12]])
    for (const skipped of ['node-a/sensor/wifi_signal/state', 'node-a/sensor/boot_count/state']) {
      expect(send(p, skipped, '-60')).toMatchObject({ readings: [], deadLetters: [] })
    }
  })

  it('shelly gen2: battery and add-on components; other methods and switches skipped', () => {
    const p = parser([preset('shelly-gen2')])
    const out = send(
      p,
      'dev/events/rpc',
      `{"src":"plusht","method":"NotifyFullStatus","params":{"ts":${NOW / 1000},"devicepower:0":{"battery":{"V":5.9,"percent":77}},"temperature:100":{"tC":4.5}}}`,
    )
    expect(triples(out)).toEqual([
      ['plusht', 'battery', 77],
      ['plusht', 'voltage', 5.9],
      ['plusht-100', 'temperature', 4.5],
    ])
    expect(out.readings[0]?.ts).toBe(NOW)
    expect(
      send(p, 'x/events/rpc', '{"src":"a","method":"NotifyEvent","params":{}}').deadLetters,
    ).toEqual([])
    expect(
      send(
        p,
        'x/events/rpc',
        '{"src":"a","method":"NotifyStatus","params":{"switch:0":{"output":true}}}',
      ),
    ).toMatchObject({ readings: [], deadLetters: [] })
  })

  it('zigbee2mqtt: bridge, availability, set and get topics are not readings', () => {
    const p = parser([preset('zigbee2mqtt')])
    for (const t of [
      'zigbee2mqtt/bridge/state',
      'zigbee2mqtt/bridge/devices',
      'zigbee2mqtt/a/availability',
      'zigbee2mqtt/a/set',
      'zigbee2mqtt/a/get',
    ]) {
      expect(send(p, t, '{"state":"online"}')).toMatchObject({ readings: [], deadLetters: [] })
    }
  })

  it('a configured profile limits the metrics read, and the classifier checks its ranges', () => {
    const devices = directory([device('A4C138123456', 'lywsd03mmc')])
    const p = parser([preset('openmqttgateway')], devices)
    const out = send(
      p,
      'home/gw/BTtoMQTT/A4C138123456',
      '{"model":"LYWSD03MMC","tempc":75,"hum":48,"batt":87,"volt":2.95,"lux":3}',
    )
    expect(out.readings.map((r) => r.metric)).toEqual([
      'temperature',
      'humidity',
      'battery',
      'voltage',
    ])
    const classified = new Classifier({
      devices,
      timestamps: { maxFutureSeconds: 300, maxPastSeconds: 3600 },
    }).classifyMessage(out, 't', Buffer.from(''))
    expect(classified.deadLetters.map((d) => d.detail)).toEqual([
      "temperature: 75 is outside Xiaomi LYWSD03MMC's range 0..60 °C",
    ])
  })
})

describe('a payload a preset does not understand is a dead letter naming the preset and field', () => {
  const cases: Array<[string, string, string, string, RegExp]> = [
    [
      'tasmota',
      'tele/t/SENSOR',
      '{"Time":"x","ENERGY":{"Power":3}}',
      'missing-field',
      /^tasmota preset, field <sensor>\.Temperature: no sensor object/,
    ],
    [
      'tasmota',
      'tele/t/SENSOR',
      '{"AM2301":{"Temperature":"21.3"}}',
      'not-a-number',
      /^tasmota preset, field AM2301\.Temperature: "21\.3" is not/,
    ],
    [
      'tasmota',
      'tele/t/SENSOR',
      '{"AM2301":{"Temperature":21},"TempUnit":"R"}',
      'not-a-number',
      /^tasmota preset, field TempUnit: /,
    ],
    [
      'zigbee2mqtt',
      'zigbee2mqtt/lamp',
      '{"state":"ON","brightness":120}',
      'missing-field',
      /^zigbee2mqtt preset, field temperature: none of the fields temperature, humidity/,
    ],
    [
      'esphome',
      'n/sensor/foo/state',
      '3',
      'unknown-metric',
      /^esphome preset, field sensor\/foo: the object id "foo" names no metric/,
    ],
    [
      'esphome',
      'n/sensor/room_temperature/state',
      'nan',
      'not-a-number',
      /^esphome preset, field sensor\/room_temperature: "nan"/,
    ],
    [
      'shelly',
      'x/events/rpc',
      '{"method":"NotifyStatus","params":{}}',
      'missing-field',
      /^shelly-gen2 preset, field src: /,
    ],
    [
      'shelly',
      'x/events/rpc',
      '{"src":"a","method":"NotifyStatus","params":{"humidity:0":{"id":0}}}',
      'missing-field',
      /^shelly-gen2 preset, field params\.humidity:0\.rh: /,
    ],
    [
      'rtl_433',
      'rtl_433/p/events',
      '{"id":1,"temperature_C":3}',
      'missing-field',
      /^rtl_433 preset, field model: /,
    ],
    [
      'rtl_433',
      'rtl_433/p/events',
      '{"model":"Remote","id":5,"button":1}',
      'missing-field',
      /^rtl_433 preset, field temperature_C: the Remote event has none of the fields temperature_C/,
    ],
    ['rtl_433', 'rtl_433/p/events', 'not json', 'not-json', /^rtl_433: not JSON/],
    // Firmware sends null for a failed read: the dead letter names the field.
    [
      'tasmota',
      'tele/t/SENSOR',
      '{"AM2301":{"Temperature":null,"Humidity":null},"TempUnit":"C"}',
      'missing-field',
      /^tasmota preset, field AM2301\.Temperature: null \(the firmware sent no value/,
    ],
    [
      'shelly',
      'x/events/rpc',
      '{"src":"a","method":"NotifyStatus","params":{"temperature:0":{"id":0,"tC":null}}}',
      'missing-field',
      /^shelly-gen2 preset, field params\.temperature:0\.tC: null/,
    ],
    // Payload strings quoted in a detail are bounded.
    [
      'rtl_433',
      'rtl_433/p/events',
      `{"model":"${'M'.repeat(5000)}","id":1}`,
      'missing-field',
      /^rtl_433 preset, field temperature_C: the M{40}… event has none of the fields/,
    ],
    [
      'openmqttgateway',
      'home/g/BTtoMQTT/AA',
      '{"model":"X","tempc":null,"rssi":-70}',
      'missing-field',
      /^openmqttgateway preset, field tempc: /,
    ],
  ]
  for (const [name, topic, payload, reason, detail] of cases) {
    it(`${name}: ${payload.slice(0, 100)}`, () => {
      const out = send(
        parser([preset(name, name === 'esphome' ? { format: 'number' } : {})]),
        topic,
        payload,
      )
      expect(out.readings).toEqual([])
      expect(out.deadLetters).toHaveLength(1)
      expect(out.deadLetters[0]?.reason).toBe(reason)
      expect(out.deadLetters[0]?.detail).toMatch(detail)
    })
  }

  it('a bad timestamp in a declared zone is refused, not guessed', () => {
    const out = send(
      parser([preset('tasmota', { timezone: 'UTC' })]),
      'tele/t/SENSOR',
      '{"Time":"2026-02-30T12:00:00","SHT3X":{"Temperature":1}}',
    )
    expect(out.deadLetters[0]).toMatchObject({ reason: 'bad-timestamp' })
    expect(out.deadLetters[0]?.detail).toMatch(/^tasmota: Time: "2026-02-30T12:00:00"/)
  })
})

describe('without a preset: nested fields, device from payload, local time zone', () => {
  it('reads AM2301.Temperature, names the device {model}-{id}, reads local time in the zone', () => {
    const p = parser([
      {
        pattern: 'radio/+/json',
        format: 'json',
        device: '{model}-{id}',
        timezone: 'UTC',
        fields: {
          temperature: 'AM2301.Temperature',
          humidity: 'AM2301.Humidity',
          timestamp: 'meta.time',
        },
      },
    ])
    const out = send(
      p,
      'radio/x/json',
      '{"model":"M","id":7,"meta":{"time":"2026-12-01 22:00:00"},"AM2301":{"Temperature":21.3,"Humidity":45}}',
    )
    expect(triples(out)).toEqual([
      ['M-7', 'temperature', 21.3],
      ['M-7', 'humidity', 45],
    ])
    expect(out.readings[0]?.ts).toBe(Date.parse('2026-12-01T22:00:00Z'))
    const missing = send(p, 'radio/x/json', '{"id":7,"AM2301":{"Temperature":21.3}}')
    expect(missing.deadLetters[0]).toMatchObject({ reason: 'missing-field' })
    expect(missing.deadLetters[0]?.detail).toMatch(
      /device: the field "model" of the device id template "\{model\}-\{id\}"/,
    )
    // An id built from payload fields is bounded and checked like one from a topic.
    const long = send(p, 'radio/x/json', `{"model":"${'M'.repeat(100)}","id":7,"AM2301":{}}`)
    expect(long.deadLetters[0]).toMatchObject({ reason: 'bad-device-id', device: undefined })
    expect(long.deadLetters[0]?.detail).toMatch(/^device id of 102 characters is longer than 64/)
    const control = send(p, 'radio/x/json', '{"model":"M\\u0007","id":7,"AM2301":{}}')
    expect(control.deadLetters[0]?.detail).toMatch(/contains control characters/)
  })

  it('co2, battery and illuminance are metrics on number topics too', () => {
    const p = parser([{ pattern: 'sensors/{device}/{metric}', format: 'number' }])
    expect(triples(send(p, 'sensors/s1/co2', '612'))).toEqual([['s1', 'co2', 612]])
    expect(triples(send(p, 'sensors/s1/battery', '80'))).toEqual([['s1', 'battery', 80]])
    expect(triples(send(p, 'sensors/s1/illuminance', '300'))).toEqual([['s1', 'illuminance', 300]])
  })
})

describe('derived metrics (opt-in)', () => {
  const limits = { maxFutureSeconds: 300, maxPastSeconds: 3600 }
  it('dew point, spread and absolute humidity from one message, Magnus constants', () => {
    const devices = directory([
      device('tasmota_A1B2C3', 'generic', {
        derive: ['dew_point', 'dew_point_spread', 'absolute_humidity'],
      }),
    ])
    const p = parser([preset('tasmota')], devices)
    const c = new Classifier({ devices, timestamps: limits })
    const s = presetSamples()[0]!
    const out = c.classifyMessage(send(p, s.topic, s.payload), s.topic, Buffer.from(s.payload))
    // Tasmota itself computed DewPoint 8.9 for this payload (same formula, 0.1 resolution).
    expect(triples({ ...out, device: undefined })).toEqual([
      ['tasmota_A1B2C3', 'temperature', 21.3],
      ['tasmota_A1B2C3', 'humidity', 45.2],
      ['tasmota_A1B2C3', 'dew_point', 8.95],
      ['tasmota_A1B2C3', 'dew_point_spread', 12.35],
      ['tasmota_A1B2C3', 'absolute_humidity', 8.41],
    ])
  })

  it('pairs temperature and humidity from separate topics; nothing for devices not opted in', () => {
    const devices = directory([device('ht1', 'shelly-ht', { derive: ['dew_point'] })])
    const p = parser([preset('shelly-gen1', { format: 'number' })], devices)
    const c = new Classifier({ devices, timestamps: limits })
    const msg = (t: string, v: string) =>
      c
        .classifyMessage(send(p, `shellies/${t}`, v), t, Buffer.from(v))
        .readings.map((r) => r.metric)
    expect(msg('ht1/sensor/temperature', '20')).toEqual(['temperature'])
    expect(msg('ht1/sensor/humidity', '50')).toEqual(['humidity', 'dew_point'])
    expect(msg('other/sensor/temperature', '20')).toEqual(['temperature'])
    expect(msg('other/sensor/humidity', '50')).toEqual(['humidity'])
  })
})
