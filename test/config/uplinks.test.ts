import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { checkConfig, formatConfigErrors, loadConfig } from '../../src/config/index.js'
import { UPLINK_KEYS } from '../../src/config/uplink-check.js'
import { tempDir } from '../helpers/tmp.js'

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

function write(yaml: string): string {
  const { dir, cleanup } = tempDir('floxgate-uplinks-')
  cleanups.push(cleanup)
  const file = join(dir, 'floxgate.yaml')
  writeFileSync(file, yaml)
  return file
}

function problems(yaml: string): string[] {
  const r = checkConfig(write(yaml), {})
  return r.ok ? [] : formatConfigErrors(r.problems).split('\n')
}

const INFLUX = 'kind: influxdb, url: "http://127.0.0.1:8086"'

describe('uplinks: the list and the one-uplink shorthand', () => {
  it('uplink: is the one mqtt uplink with id default (the original outbox table)', () => {
    const c = loadConfig(
      write('gateway: { id: gw1 }\nuplink: { url: "mqtt://127.0.0.1:1883", inflight: 8 }\n'),
      {},
    )
    expect(c.uplinks).toHaveLength(1)
    expect(c.uplinks[0]).toMatchObject({
      id: 'default',
      kind: 'mqtt',
      url: 'mqtt://127.0.0.1:1883',
      clientId: 'floxgate-gw1',
      topicPrefix: 'gw1',
      streams: ['aggregates', 'alerts'],
      inflight: 8,
    })
  })

  it('each kind has its own default streams and client id', () => {
    const c = loadConfig(
      write(
        [
          'gateway: { id: gw1 }',
          'uplinks:',
          '  - { id: cloud, url: "mqtt://127.0.0.1:1883" }',
          `  - { id: tsdb, ${INFLUX}, database: floxgate }`,
          '  - { id: tb, kind: thingsboard, url: "mqtt://127.0.0.1:1884", username: tok }',
          '',
        ].join('\n'),
      ),
      {},
    )
    expect(c.uplinks.map((u) => [u.id, u.kind, u.streams, u.clientId])).toEqual([
      ['cloud', 'mqtt', ['aggregates', 'alerts'], 'floxgate-gw1-cloud'],
      ['tsdb', 'influxdb', ['readings', 'aggregates', 'alerts'], 'floxgate-gw1-tsdb'],
      ['tb', 'thingsboard', ['readings', 'alerts'], 'floxgate-gw1-tb'],
    ])
  })

  it('refuses both sections, a duplicate id, and a URL of the wrong scheme for the kind', () => {
    expect(
      problems(
        'uplink: { url: "mqtt://127.0.0.1:1883" }\nuplinks: [{ id: a, url: "mqtt://127.0.0.1:1883" }]\n',
      )[0],
    ).toMatch(/^uplinks: both uplink and uplinks are set/)
    expect(
      problems(
        'uplinks:\n  - { id: a, url: "mqtt://127.0.0.1:1883" }\n  - { id: a, url: "mqtt://127.0.0.1:1884" }\n',
      ),
    ).toEqual([expect.stringMatching(/^uplinks\[1\]\.id: "a" is used twice/)])
    expect(
      problems('uplinks: [{ id: a, kind: influxdb, url: "mqtt://x:1883", database: d }]'),
    ).toEqual([
      expect.stringMatching(/^uplinks\[0\]\.url: expected an http:\/\/ or https:\/\/ URL/),
    ])
    expect(problems('uplinks: [{ id: a, kind: thingsboard, url: "http://x:8080" }]')).toEqual([
      expect.stringMatching(/^uplinks\[0\]\.url: expected an mqtt:\/\/ or mqtts:\/\/ URL/),
    ])
  })

  it('InfluxDB needs a database (1.x) or org and bucket (2.x)', () => {
    expect(problems(`uplinks: [{ id: a, ${INFLUX} }]`)).toEqual([
      'uplinks[0].database: must be set: the InfluxDB 1.x database (or org, bucket and token for InfluxDB 2.x) (line 1)',
    ])
    expect(problems(`uplinks: [{ id: a, ${INFLUX}, bucket: b, token: t }]`)).toEqual([
      'uplinks[0].org: must be set: InfluxDB 2.x needs org, bucket and token (line 1)',
    ])
    expect(problems(`uplinks: [{ id: a, ${INFLUX}, org: o, bucket: b, token: t }]`)).toEqual([])
  })
})

describe('uplinks: every accepted key is one the kind uses', () => {
  it('a key of another kind is refused, naming the kinds that use it', () => {
    expect(
      problems(
        [
          'uplinks:',
          '  - { id: cloud, url: "mqtt://127.0.0.1:1883", gzip: false, alertsAs: attributes }',
          `  - { id: tsdb, ${INFLUX}, database: d, topicPrefix: x, inflight: 4, caFile: ca.pem, clientId: c }`,
          '  - { id: tb, kind: thingsboard, url: "mqtt://127.0.0.1:1884", topicPrefix: x, batchSize: 10 }',
          '',
        ].join('\n'),
      ),
    ).toEqual([
      'uplinks[0].gzip: is not used by kind mqtt (only by kind influxdb): remove it (line 2)',
      'uplinks[0].alertsAs: is not used by kind mqtt (only by kind thingsboard): remove it (line 2)',
      'uplinks[1].topicPrefix: is not used by kind influxdb (only by kind mqtt): remove it (line 3)',
      'uplinks[1].inflight: is not used by kind influxdb (only by kind mqtt or thingsboard): remove it (line 3)',
      expect.stringMatching(
        /^uplinks\[1\]\.caFile: is not used by kind influxdb \(only by kind mqtt or thingsboard\): remove it \(an https:\/\/ InfluxDB needs a certificate Node\.js trusts/,
      ),
      'uplinks[1].clientId: is not used by kind influxdb (only by kind mqtt or thingsboard): remove it (line 3)',
      'uplinks[2].topicPrefix: is not used by kind thingsboard (only by kind mqtt): remove it (line 4)',
      'uplinks[2].batchSize: is not used by kind thingsboard (only by kind influxdb): remove it (line 4)',
    ])
  })

  it("InfluxDB 1.x's keys are refused beside 2.x's org, bucket and token", () => {
    expect(
      problems(
        `uplinks: [{ id: a, ${INFLUX}, org: o, bucket: b, token: t, database: d, username: u, password: p }]`,
      ).map((l) => l.split(':')[0]),
    ).toEqual(['uplinks[0].database', 'uplinks[0].username', 'uplinks[0].password'])
  })

  it('each key of the uplinks schema is read by at least one kind (none is left to nobody)', () => {
    // A key the schema accepts that no kind lists would be accepted and ignored.
    const c = loadConfig(write(`uplinks: [{ id: a, ${INFLUX}, database: d }]`), {})
    const schemaKeys = Object.keys(c.uplinks[0]!).sort()
    const read = new Set<string>(Object.values(UPLINK_KEYS).flat())
    expect(schemaKeys.filter((k) => !read.has(k))).toEqual([])
  })

  it('a thingsboard uplink may not share the external broker session id either', () => {
    const lines = problems(
      [
        'gateway: { id: gw1 }',
        'broker: { mode: external, external: { url: "mqtt://127.0.0.1:1883", clientId: same } }',
        'uplinks: [{ id: tb, kind: thingsboard, url: "mqtt://127.0.0.1:1883", clientId: same }]',
        '',
      ].join('\n'),
    )
    expect(lines.join('\n')).toMatch(
      /uplinks\[0\]\.clientId.*"same" is also broker\.external\.clientId/,
    )
  })
})

it('the example config with its uplinks block uncommented has the three kinds', () => {
  const lines = readFileSync('config/floxgate.example.yaml', 'utf8').split('\n')
  const from = lines.findIndex((l) => l.startsWith('# uplinks:'))
  const to = lines.findIndex((l, i) => i > from && !l.startsWith('#   '))
  expect(from).toBeGreaterThan(0)
  const text = [
    ...lines.slice(0, from),
    ...lines.slice(from, to).map((l) => l.slice(2)),
    ...lines.slice(to),
  ].join('\n')
  const c = loadConfig(write(text), { FLOXGATE_UPLINK_PASSWORD: 'p', TB_GATEWAY_TOKEN: 't' })
  expect(c.uplinks.map((u) => [u.id, u.kind])).toEqual([
    ['cloud', 'mqtt'],
    ['tsdb', 'influxdb'],
    ['tb', 'thingsboard'],
  ])
})
