import { describe, expect, it } from 'vitest'
import { Classifier } from '../../src/gateway/classifier.js'
import type { DeadLetterReason } from '../../src/gateway/reading.js'
import { ReadingParser, type SensorTopicConfig } from '../../src/gateway/reading-parser.js'
import { device, directory } from './fixtures.js'

const TOPICS: SensorTopicConfig[] = [
  { pattern: 'sensors/{device}/telemetry', format: 'json' },
  { pattern: 'sensors/{device}/{metric}', format: 'number' },
]
const NOW = Date.parse('2026-03-01T12:00:00Z')

function setup(topics = TOPICS, unknown: 'accept' | 'dead-letter' = 'accept') {
  const devices = directory(
    [device('gh-1', 'dht22'), device('probe', 'ds18b20'), device('baro', 'bme280')],
    { policy: unknown },
  )
  const parser = new ReadingParser({ topics, devices, maxPayloadBytes: 65536 })
  const classifier = new Classifier({
    devices,
    timestamps: { maxFutureSeconds: 300, maxPastSeconds: 86400 },
  })
  /** Parse and classify, as the daemon does. */
  const run = (topic: string, payload: string | Buffer) => {
    const buf = typeof payload === 'string' ? Buffer.from(payload) : payload
    const parsed = parser.parse(topic, buf, NOW)
    return { parsed, ...classifier.classifyMessage(parsed, topic, buf) }
  }
  return { parser, run }
}

describe('ReadingParser: good payloads', () => {
  it('reads a JSON object with temperature, humidity and a seconds timestamp', () => {
    const { run } = setup()
    const ts = NOW / 1000 - 5
    const out = run(
      'sensors/gh-1/telemetry',
      JSON.stringify({ temperature: 21.5, humidity: 48, ts, id: 'm-7' }),
    )
    expect(out.deadLetters).toEqual([])
    expect(out.readings).toEqual([
      {
        device: 'gh-1',
        metric: 'temperature',
        value: 21.5,
        ts: NOW - 5000,
        receivedAt: NOW,
        tsFromReceive: false,
        messageId: 'm-7',
      },
      {
        device: 'gh-1',
        metric: 'humidity',
        value: 48,
        ts: NOW - 5000,
        receivedAt: NOW,
        tsFromReceive: false,
        messageId: 'm-7',
      },
    ])
  })

  it.each([
    ['milliseconds', NOW - 1234, NOW - 1234],
    ['fractional seconds', (NOW - 1500) / 1000, NOW - 1500],
    ['ISO 8601 with Z', '2026-03-01T11:59:58.250Z', NOW - 1750],
    ['ISO 8601 with an offset', '2026-03-01T13:59:59+02:00', NOW - 1000],
    ['a digit string', String((NOW - 3000) / 1000), NOW - 3000],
  ])('accepts a timestamp in %s', (_name, raw, expected) => {
    const { run } = setup()
    const out = run('sensors/gh-1/telemetry', JSON.stringify({ temperature: 20, ts: raw }))
    expect(out.readings[0]?.ts).toBe(expected)
    expect(out.readings[0]?.tsFromReceive).toBe(false)
  })

  it('uses the receive time when the payload has no timestamp', () => {
    const { run } = setup()
    const out = run('sensors/gh-1/telemetry', '{"temperature": 20}')
    expect(out.readings).toHaveLength(1)
    expect(out.readings[0]).toMatchObject({ ts: NOW, tsFromReceive: true })
  })

  it.each([
    ['F', 104, 40],
    ['F', 32, 0],
    ['K', 273.15, 0],
    ['C', 21.5, 21.5],
  ] as const)('converts temperature in %s to °C', (unit, raw, celsius) => {
    const { run } = setup([
      { pattern: 'sensors/{device}/telemetry', format: 'json', units: { temperature: unit } },
    ])
    const out = run('sensors/gh-1/telemetry', JSON.stringify({ temperature: raw }))
    expect(out.readings[0]?.value).toBeCloseTo(celsius, 9)
  })

  it.each([
    ['pressure', 'Pa', 101325, 1013.25],
    ['pressure', 'kPa', 101.325, 1013.25],
    ['pressure', 'mmHg', 760, 1013.25],
    ['voltage', 'mV', 2995, 2.995],
    ['voltage', 'V', 3.1, 3.1],
  ] as const)('converts %s in %s to the canonical unit', (metric, unit, raw, canonical) => {
    const { run } = setup([
      { pattern: 'sensors/{device}/telemetry', format: 'json', units: { [metric]: unit } },
    ])
    // An unknown device gets the generic profile, which measures every built-in metric.
    const out = run('sensors/node-7/telemetry', JSON.stringify({ [metric]: raw }))
    expect(out.readings.map((r) => r.metric)).toEqual([metric])
    expect(out.readings[0]?.value).toBeCloseTo(canonical, 2)
  })

  it('converts pressure in Pa to hPa and honours configured field names', () => {
    const { run } = setup([
      {
        pattern: 'site/{device}/env',
        format: 'json',
        fields: { temperature: 't', pressure: 'p', timestamp: 'time' },
        units: { pressure: 'Pa' },
      },
    ])
    const out = run('site/baro/env', JSON.stringify({ t: 19, p: 101325, time: NOW }))
    expect(out.readings.map((r) => [r.metric, r.value])).toEqual([
      ['temperature', 19],
      ['pressure', 1013.25],
    ])
  })

  it('reads a plain number on a {metric} topic', () => {
    const { run } = setup()
    const out = run('sensors/gh-1/humidity', ' 55.5\n')
    expect(out.readings).toEqual([
      {
        device: 'gh-1',
        metric: 'humidity',
        value: 55.5,
        ts: NOW,
        receivedAt: NOW,
        tsFromReceive: true,
      },
    ])
  })

  it('only reads the metrics of the device profile', () => {
    const { run } = setup()
    const out = run('sensors/probe/telemetry', '{"temperature": 4.5, "humidity": 40}')
    expect(out.readings.map((r) => r.metric)).toEqual(['temperature'])
    expect(out.deadLetters).toEqual([])
  })

  it('lists the MQTT subscriptions of its patterns', () => {
    expect(setup().parser.subscriptions).toEqual(['sensors/+/telemetry', 'sensors/+/+'])
  })
})

describe('ReadingParser + Classifier: the bad-payload table', () => {
  const TEL = 'sensors/gh-1/telemetry'
  const cases: Array<[string, string, string | Buffer, DeadLetterReason, RegExp]> = [
    ['empty', TEL, '', 'empty-payload', /empty/],
    ['not JSON', TEL, '{"temperature": 21.5', 'not-json', /not JSON/],
    ['NaN in JSON (not valid JSON)', TEL, '{"temperature": NaN}', 'not-json', /not JSON/],
    ['a JSON array', TEL, '[21.5, 40]', 'not-an-object', /JSON array/],
    ['a bare JSON number', TEL, '21.5', 'not-an-object', /a number/],
    ['JSON null', TEL, 'null', 'not-an-object', /null/],
    [
      'a number as a string',
      TEL,
      '{"temperature": "21.5"}',
      'not-a-number',
      /temperature: "21\.5" is not a JSON number/,
    ],
    ['a boolean', TEL, '{"humidity": true}', 'not-a-number', /humidity: true/],
    [
      '1e308 (out of range)',
      TEL,
      '{"temperature": 1e308}',
      'out-of-range',
      /outside DHT22 \(AM2302\)'s range -40\.\.80 °C/,
    ],
    ['1e309 (overflows)', TEL, '{"temperature": 1e309}', 'non-finite', /Infinity/],
    ['humidity 101 %', TEL, '{"humidity": 101}', 'out-of-range', /humidity: 101 is outside/],
    [
      'missing fields',
      TEL,
      '{"temp": 21.5, "ts": 1}',
      'missing-field',
      /"temperature", "humidity"/,
    ],
    ['an empty object', TEL, '{}', 'missing-field', /none of the fields/],
    [
      'a bad timestamp',
      TEL,
      '{"temperature": 20, "ts": "yesterday"}',
      'bad-timestamp',
      /ts: "yesterday"/,
    ],
    [
      'an ISO timestamp without zone',
      TEL,
      '{"temperature": 20, "ts": "2026-03-01T12:00:00"}',
      'bad-timestamp',
      /zone/,
    ],
    [
      'a timestamp 1 h ahead',
      TEL,
      `{"temperature": 20, "ts": ${NOW + 3_600_000}}`,
      'timestamp-future',
      /3600 s ahead/,
    ],
    [
      'a timestamp 2 days old',
      TEL,
      `{"temperature": 20, "ts": ${NOW - 2 * 86_400_000}}`,
      'timestamp-past',
      /172800 s old/,
    ],
    [
      'a 1 MB payload',
      TEL,
      Buffer.alloc(1024 * 1024, 0x20),
      'payload-too-large',
      /1048576 bytes exceeds the limit of 65536/,
    ],
    [
      'a topic outside the patterns',
      'other/gh-1/telemetry',
      '{"temperature": 20}',
      'topic-unmatched',
      /matches none/,
    ],
    [
      '"NaN" on a number topic',
      'sensors/gh-1/temperature',
      'NaN',
      'non-finite',
      /not a finite number/,
    ],
    [
      'text on a number topic',
      'sensors/gh-1/temperature',
      'warm',
      'not-a-number',
      /"warm" is not a plain number/,
    ],
    [
      'hex on a number topic',
      'sensors/gh-1/temperature',
      '0x10',
      'not-a-number',
      /not a plain number/,
    ],
    [
      'an unknown metric segment',
      'sensors/gh-1/co2',
      '400',
      'unknown-metric',
      /profile dht22 does not measure "co2"/,
    ],
    [
      'a metric the profile lacks',
      'sensors/gh-1/pressure',
      '1000',
      'unknown-metric',
      /does not measure "pressure"/,
    ],
    ['1e308 on a number topic', 'sensors/gh-1/temperature', '1e308', 'out-of-range', /outside/],
  ]

  it.each(cases)('%s -> dead letter', (_name, topic, payload, reason, detail) => {
    const { run } = setup()
    const out = run(topic, payload)
    expect(out.readings).toEqual([])
    expect(out.deadLetters).toHaveLength(1)
    const dl = out.deadLetters[0]!
    expect(dl.reason).toBe(reason)
    expect(dl.detail).toMatch(detail)
    expect(dl.detail).not.toContain('\n')
    expect(dl.topic).toBe(topic)
    expect(dl.receivedAt).toBe(NOW)
    // The next good message is processed normally.
    expect(run(TEL, '{"temperature": 20}').readings).toHaveLength(1)
  })

  it('keeps the good fields of a payload with one bad field', () => {
    const { run } = setup()
    const out = run('sensors/gh-1/telemetry', '{"temperature": 21, "humidity": "wet"}')
    expect(out.readings.map((r) => r.metric)).toEqual(['temperature'])
    expect(out.deadLetters.map((d) => d.reason)).toEqual(['not-a-number'])
  })

  it('sends unknown devices to dead letters when the policy says so', () => {
    const { run } = setup(TOPICS, 'dead-letter')
    const out = run('sensors/stranger/telemetry', '{"temperature": 20}')
    expect(out.deadLetters[0]).toMatchObject({ reason: 'unknown-device', device: 'stranger' })
    expect(out.deadLetters[0]?.detail).toMatch(/not configured/)
    expect(run('sensors/gh-1/telemetry', '{"temperature": 20}').readings).toHaveLength(1)
  })

  it('accepts unknown devices with the generic profile when the policy says so', () => {
    const { run } = setup()
    const out = run('sensors/stranger/telemetry', '{"temperature": 20, "pressure": 990}')
    expect(out.readings.map((r) => [r.device, r.metric])).toEqual([
      ['stranger', 'temperature'],
      ['stranger', 'pressure'],
    ])
  })
})

describe('DeviceDirectory: unknown device bound', () => {
  it('refuses unknown devices beyond unknownDevices.max', () => {
    const devices = directory([device('gh-1', 'dht22')], { max: 2 })
    const parser = new ReadingParser({ topics: TOPICS, devices, maxPayloadBytes: 1024 })
    const parse = (d: string) =>
      parser.parse(`sensors/${d}/telemetry`, Buffer.from('{"temperature": 1}'), NOW)
    expect(parse('u1').readings).toHaveLength(1)
    expect(parse('u2').readings).toHaveLength(1)
    expect(parse('u3').deadLetters[0]).toMatchObject({
      reason: 'unknown-device',
      detail: expect.stringMatching(/2 unknown devices are already accepted/),
    })
    expect(parse('u1').readings).toHaveLength(1)
    expect(parse('gh-1').readings).toHaveLength(1)
  })
})
