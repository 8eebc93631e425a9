// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text with ${VAR} references
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type Config, checkConfig, formatConfigErrors, loadConfig } from '../../src/config/index.js'
import { buildGatewayParts } from '../../src/daemon/gateway-parts.js'
import { ERR, isError, WARN } from '../../src/errors.js'
import { tempDir } from '../helpers/tmp.js'

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

function write(yaml: string, name = 'floxgate.yaml'): string {
  const { dir, cleanup } = tempDir('floxgate-config-')
  cleanups.push(cleanup)
  const file = join(dir, name)
  writeFileSync(file, yaml)
  return file
}

/** The `path: message` lines for a config, or [] when it is valid. */
function problems(yaml: string, env: Record<string, string> = {}): string[] {
  const r = checkConfig(write(yaml), env)
  return r.ok ? [] : formatConfigErrors(r.problems).split('\n')
}

describe('loadConfig: defaults', () => {
  it('accepts an empty file with a default for everything', () => {
    const file = write('')
    const c = loadConfig(file, {})
    expect(c.broker).toMatchObject({
      mode: 'embedded',
      embedded: {
        host: '127.0.0.1',
        port: 1883,
        allowAnonymous: true,
        maxPayloadBytes: 65536,
        maxConnections: 1000,
      },
    })
    expect(c.sensors.topics.map((t) => t.pattern)).toEqual([
      'sensors/{device}/telemetry',
      'sensors/{device}/{metric}',
    ])
    expect(c.alerts.topic).toBe('floxgate/alerts/{device}/{metric}')
    expect(c.aggregates).toMatchObject({
      windowSeconds: 60,
      topic: 'floxgate/aggregates/{device}/{metric}',
    })
    expect(c.http).toEqual({ enabled: true, host: '127.0.0.1', port: 9464, ui: true })
    expect(c.uplink).toBeUndefined()
    expect(c.warnings).toEqual([])
    expect([...c.profiles.keys()]).toEqual(
      expect.arrayContaining(['dht22', 'bme280', 'sht31', 'ds18b20', 'generic']),
    )
  })

  it('loads the shipped example and builds the gateway parts from it', () => {
    const c = loadConfig('config/floxgate.example.yaml', {})
    expect(c.devices.map((d) => d.profile)).toEqual(['sht31', 'dht22', 'bme280', 'ds18b20'])
    expect(c.gateway.dataDir).toBe(join(process.cwd(), 'data'))
    expect(c.store.file).toBe(join(process.cwd(), 'data', 'floxgate.db'))
    const parts = buildGatewayParts(c, 0)
    const at = (t: number) => {
      const parsed = parts.parser.parse(
        'sensors/freezer/telemetry',
        Buffer.from('{"temperature": -5}'),
        t,
      )
      const [r] = parts.classifier.classifyMessage(
        parsed,
        'sensors/freezer/telemetry',
        Buffer.alloc(0),
      ).readings
      return parts.rules.evaluate(r!)
    }
    // The freezer's override lowers too-hot to -12 °C; the rule wants 30 s above it.
    expect(at(1000)).toEqual([])
    expect(at(31_000)).toMatchObject([{ rule: 'too-hot', threshold: -12, since: 1000 }])
  })
})

describe('loadConfig: paths and environment', () => {
  it('resolves relative paths against the config folder', () => {
    // the TLS files must exist (check-config reads them): one relative, one absolute
    const abs = tempDir('floxgate-config-abs-')
    cleanups.push(abs.cleanup)
    const absKey = join(abs.dir, 'k.pem')
    writeFileSync(absKey, 'key')
    const file = write(
      [
        'gateway: { dataDir: state }',
        'store: { file: db/x.db }',
        'broker:',
        '  embedded:',
        `    tls: { cert: tls/c.pem, key: ${absKey} }`,
      ].join('\n'),
    )
    const dir = join(file, '..')
    mkdirSync(join(dir, 'tls'))
    writeFileSync(join(dir, 'tls', 'c.pem'), 'cert')
    const c = loadConfig(file, {})
    expect(c.gateway.dataDir).toBe(join(dir, 'state'))
    expect(c.store.file).toBe(join(dir, 'state', 'db', 'x.db'))
    expect(c.broker.embedded.tls).toEqual({
      port: 8883,
      cert: join(dir, 'tls', 'c.pem'),
      key: absKey,
    })
    expect(c.source).toEqual({ file, dir })
  })

  it('puts the data under $STATE_DIRECTORY when systemd sets it', () => {
    const c = loadConfig(write('gateway: { dataDir: ./data }'), {
      STATE_DIRECTORY: '/var/lib/floxgate:/var/lib/other',
    })
    expect(c.gateway.dataDir).toBe('/var/lib/floxgate')
    expect(c.store.file).toBe('/var/lib/floxgate/floxgate.db')
  })

  it('substitutes ${VAR} and ${VAR:-default} from the environment', () => {
    const yaml = [
      'uplink:',
      '  url: mqtts://${UP_HOST}:8883',
      '  password: ${UP_PASS}',
      '  username: ${UP_USER:-gw}',
    ].join('\n')
    const c = loadConfig(write(yaml), { UP_HOST: 'cloud.example', UP_PASS: 's3cret' })
    expect(c.uplink).toMatchObject({
      url: 'mqtts://cloud.example:8883',
      password: 's3cret',
      username: 'gw',
    })
    expect(problems(yaml, { UP_HOST: 'h' })).toEqual([
      'uplink.password: environment variable UP_PASS is not set (use ${UP_PASS:-default} for a fallback) (line 3)',
    ])
  })

  it('fills {gateway} in output topics', () => {
    const c = loadConfig(write('gateway: { id: gw-7 }\nuplink: { url: "mqtt://up:1883" }'), {})
    expect(c.broker.statusTopic).toBe('floxgate/gw-7/status')
    expect(c.uplink).toMatchObject({
      topicPrefix: 'gw-7',
      clientId: 'floxgate-gw-7',
      streams: ['aggregates', 'alerts'],
    })
  })
})

describe('loadConfig: anonymous access', () => {
  it('refuses anonymous clients by default when the broker listens beyond loopback', () => {
    const c = loadConfig(write('broker: { embedded: { host: 0.0.0.0 } }'), {})
    expect(c.broker.embedded.allowAnonymous).toBe(false)
    expect(c.warnings).toEqual([])
  })

  it('counts the websocket listener host too', () => {
    const c = loadConfig(write('broker: { embedded: { websocket: { host: 192.168.1.5 } } }'), {})
    expect(c.broker.embedded.allowAnonymous).toBe(false)
  })

  it('flags an explicit allowAnonymous on a non-loopback host', () => {
    const c: Config = loadConfig(
      write('broker: { embedded: { host: 0.0.0.0, allowAnonymous: true } }'),
      {},
    )
    expect(c.broker.embedded.allowAnonymous).toBe(true)
    expect(c.warnings).toHaveLength(1)
    expect(c.warnings[0]?.code).toBe(WARN.ANONYMOUS_EXPOSED.code)
    expect(WARN.ANONYMOUS_EXPOSED.code).toBe('FLX_WARN_ANONYMOUS_EXPOSED')
    expect(c.warnings[0]?.message).toMatch(/0\.0\.0\.0/)
  })
})

describe('check-config messages', () => {
  it('reports every problem with its path, what is wrong and the line', () => {
    const yaml = `
broker:
  embedded:
    port: 70000
    prot: 1884
rules:
  - id: hot
    metric: temperature
    high: 30
  - id: cold
    metric: temperature
    low: 2
  - id: broken
    metric: temperature
    high: thirty
    severity: urgent
log:
  level: loud
`
    expect(problems(yaml)).toEqual([
      'broker.embedded.port: expected an integer 1..65535, got 70000 (line 4)',
      'broker.embedded.prot: unknown key "prot", did you mean "port"? (line 5)',
      'rules[2].high: expected a number, got "thirty" (line 15)',
      'rules[2].severity: expected one of warning, critical, got "urgent" (line 16)',
      'log.level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud" (line 18)',
    ])
  })

  it('reports a YAML syntax error with line:col', () => {
    const lines = problems('gateway:\n  id: gw\n  dataDir: [unclosed\nlog: {}\n')
    expect(lines.length).toBeGreaterThan(0)
    expect(lines[0]).toMatch(/^line \d+:\d+: YAML syntax: /)
  })

  it('refuses duplicate keys', () => {
    expect(problems('log: { level: info }\nlog: { level: debug }\n')[0]).toMatch(
      /^line 2:1: YAML syntax: .*unique/i,
    )
  })

  it('lists the allowed keys when an unknown key is not a typo', () => {
    expect(problems('aggregates: { zzz: 1 }')).toEqual([
      'aggregates.zzz: unknown key "zzz" (expected one of: enabled, windowSeconds, graceSeconds, topic, qos) (line 1)',
    ])
    expect(problems('srore: {}')[0]).toBe(
      'srore: unknown key "srore", did you mean "store"? (line 1)',
    )
  })

  it('checks rules, devices and their references together', () => {
    const yaml = `
devices:
  - id: a
    profile: dht23
    rules:
      colt: { high: 35 }
      cold: { high: 5 }
  - id: a
    calibration: { temprature: 1 }
rules:
  - id: cold
    metric: temperature
    low: 2
  - id: nothing
    metric: temperature
  - id: both
    metric: humidity
    high: 90
    low: 10
  - id: needs-metric
    high: 3
  - id: silent
    staleSeconds: 0
broker:
  mode: external
`
    expect(problems(yaml)).toEqual([
      'devices[0].profile: unknown profile "dht23", did you mean "dht22"? (line 4)',
      'devices[0].rules.colt: unknown rule "colt", did you mean "cold"? (line 6)',
      'devices[0].rules.cold.high: rule "cold" is a low rule: override low instead (line 7)',
      'devices[1].id: duplicate device id "a" (line 8)',
      'devices[1].calibration.temprature: unknown metric "temprature", did you mean "temperature"?; declare it under metrics: or in a profile (line 9)',
      'rules[1]: must set one of high, low, ratePerMinute or staleSeconds (line 14)',
      'rules[2]: must set only one of high, low, ratePerMinute or staleSeconds (has high, low) (line 16)',
      'rules[3].metric: must be set for a high rule (temperature, humidity, co2, or any metric) (line 20)',
      'rules[4].staleSeconds: expected a number > 0, got 0 (line 23)',
      'broker.external.url: is required when broker.mode is external (line 25)',
    ])
  })

  it('explains an unknown preset with the known ones, and checks preset settings', () => {
    const yaml = `
sensors:
  topics:
    - preset: tasmot
    - preset: shelly
      pattern: x/{device}/y
    - preset: rtl_433
      timezone: Mars/Olympus
    - preset: zigbee2mqtt
      fields: { temperature: temp }
    - pattern: radio/+/events
      device: model
metrics:
  radon: { unit: Bq/m³, min: 0, max: 10000 }
rules:
  - id: radon-high
    metric: radon
    high: 300
  - id: typo
    metric: co3
    high: 1
`
    expect(problems(yaml)).toEqual([
      'sensors.topics[0].preset: unknown preset "tasmot", did you mean "tasmota"? (known: tasmota, zigbee2mqtt, esphome, shelly, shelly-gen1, shelly-gen2, rtl_433, openmqttgateway) (line 4)',
      'sensors.topics[1].pattern: must not be set for preset shelly, which has 2 patterns (shelly-gen1, shelly-gen2); set pattern: on one of those instead (line 6)',
      'sensors.topics[2].timezone: unknown time zone "Mars/Olympus" (expected an IANA name such as Europe/Berlin, UTC, or an offset such as +01:00) (line 8)',
      'sensors.topics[3].fields: must not be set with a preset (it reads its own fields); use a topic without preset: to name fields (line 10)',
      'sensors.topics[4].device: must hold at least one {field} placeholder, e.g. "{model}-{id}" (line 12)',
      'rules[1].metric: unknown metric "co3", did you mean "co2"?; declare it under metrics: or in a profile (line 20)',
    ])
  })

  it('checks sensor topic patterns and filters', () => {
    const yaml = `
sensors:
  topics:
    - pattern: sensors/+/telemetry
    - pattern: sensors/{device}/{metric}
      format: json
    - pattern: sensors/{device}/temp
      format: number
broker:
  embedded:
    users:
      - username: dev1
        passwordHash: x
        publish: ["sensors/#/x"]
alerts:
  topic: alerts/#
`
    expect(problems(yaml)).toEqual([
      'sensors.topics[0].pattern: must be a valid pattern: expected a {device} segment (or device: to take the device id from the payload) (line 4)',
      'sensors.topics[1].format: must be number for a topic with {metric} or metric: (line 6)',
      'sensors.topics[2].metric: must be set for a number topic without a {metric} segment (line 7)',
      'broker.embedded.users[0].passwordHash: expected scrypt$N$r$p$salt$hash from `floxgate hash-password` (N a power of 2 ≤ 131072, r ≤ 16, p ≤ 4, 128·N·r ≤ 64 MiB); plain text passwords are not accepted, got a string of 1 character (not shown: a secret) (line 13)',
      'broker.embedded.users[0].publish[0]: expected an MQTT topic filter ("+" as a whole level, "#" only as the last level), got "sensors/#/x" (line 14)',
      'alerts.topic: expected a topic without the wildcards "+" or "#", got "alerts/#" (line 16)',
    ])
  })

  it('says what a wrong type is', () => {
    expect(problems('devices: {}\nrules: 3\nhttp: { enabled: yes please }')).toEqual([
      'devices: expected a list, got a mapping (line 1)',
      'rules: expected a list, got 3 (line 2)',
      'http.enabled: expected true or false, got "yes please" (line 3)',
    ])
    expect(problems('[1, 2]')).toEqual(['(top level): expected a mapping, got a list (line 1)'])
  })

  it('throws FLX_ERR_CONFIG_INVALID carrying every line', () => {
    const file = write('broker: { embedded: { port: 0 } }\nlog: { level: loud }')
    let caught: unknown
    try {
      loadConfig(file, {})
    } catch (err) {
      caught = err
    }
    expect(isError(caught, ERR.CONFIG_INVALID)).toBe(true)
    const msg = (caught as Error).message
    expect(msg).toContain('has 2 problems')
    expect(msg).toContain('broker.embedded.port: expected an integer 1..65535, got 0')
    expect(msg).toContain('log.level: expected one of')
  })

  it('reports an unreadable file', () => {
    const r = checkConfig('/nonexistent/floxgate.yaml', {})
    expect(r.ok).toBe(false)
    expect(r.ok ? '' : formatConfigErrors(r.problems)).toMatch(
      /cannot read \/nonexistent\/floxgate\.yaml: ENOENT/,
    )
  })
})

describe('device profiles', () => {
  it('adds profiles from profilesDir and reports broken ones', () => {
    const file = write(
      ['profilesDir: ./profiles', 'devices:', '  - { id: x, profile: scd41 }'].join('\n'),
    )
    const dir = join(file, '..', 'profiles')
    mkdirSync(dir)
    writeFileSync(
      join(dir, 'scd41.yaml'),
      'name: SCD41\nmetrics:\n  temperature: { min: -10, max: 60 }\n',
    )
    writeFileSync(join(dir, 'bad.yaml'), 'name: Bad\nmetrics:\n  humidity: { min: 100, max: 0 }\n')
    const r = checkConfig(file, {})
    expect(r.ok).toBe(false)
    const lines = r.ok ? [] : formatConfigErrors(r.problems).split('\n')
    expect(lines).toEqual([`${join(dir, 'bad.yaml')}: metrics.humidity: must have min below max`])
    writeFileSync(
      join(dir, 'bad.yaml'),
      'name: Fixed\nmetrics:\n  humidity: { min: 0, max: 100 }\n',
    )
    const c = loadConfig(file, {})
    expect(c.profiles.get('scd41')?.metrics.temperature).toEqual({ min: -10, max: 60 })
  })
})

describe('loadConfig: client ids of the uplink and the external broker', () => {
  const external =
    'gateway: { id: gw1 }\nbroker: { mode: external, external: { url: "mqtt://127.0.0.1:1883" } }\n'

  it('defaults to two different ids, so one broker can serve both connections', () => {
    const c = loadConfig(write(`${external}uplink: { url: "mqtt://127.0.0.1:1883" }\n`), {})
    expect(c.broker.external.clientId).toBe('floxgate-gw1-sensors')
    expect(c.uplink?.clientId).toBe('floxgate-gw1')
  })

  it('refuses the same id for both on the same broker', () => {
    const lines = problems(
      `${external.replace('1883" }', '1883", clientId: same }')}uplink: { url: "mqtt://127.0.0.1:1883", clientId: same }\n`,
    )
    expect(lines.join('\n')).toMatch(/uplink\.clientId.*"same" is also broker\.external\.clientId/)
  })

  it('knows one broker by two spellings of its URL (the default port written or not)', () => {
    const lines = problems(
      `${external.replace('1883" }', '1883", clientId: same }')}uplink: { url: "mqtt://127.0.0.1", clientId: same }\n`,
    )
    expect(lines.join('\n')).toMatch(/uplink\.clientId.*"same" is also broker\.external\.clientId/)
  })

  it('sees one broker behind localhost, 127.0.0.1 and a default port', () => {
    const lines = problems(
      `${external.replace('1883" }', '1883", clientId: same }')}uplink: { url: "mqtt://localhost", clientId: same }\n`,
    )
    expect(lines.join('\n')).toMatch(/uplink\.clientId.*"same" is also broker\.external\.clientId/)
  })

  it('refuses two uplinks (mqtt, thingsboard) with one id on one broker', () => {
    const lines = problems(
      [
        'gateway: { id: gw1 }',
        'uplinks:',
        '  - { id: a, url: "mqtt://10.0.0.5:1883", clientId: twin }',
        '  - { id: b, kind: thingsboard, url: "mqtt://10.0.0.5", clientId: twin }',
        '',
      ].join('\n'),
    )
    expect(lines.join('\n')).toMatch(
      /uplinks\[1\]\.clientId.*"twin" is also uplinks\[0\]\.clientId/,
    )
  })

  it('allows the same id on two different brokers', () => {
    const lines = problems(
      `${external.replace('1883" }', '1883", clientId: same }')}uplink: { url: "mqtt://127.0.0.1:1884", clientId: same }\n`,
    )
    expect(lines).toEqual([])
  })
})

it('refuses a configured device id longer than 64 characters, like one from a topic', () => {
  const lines = problems(`devices:\n  - id: ${'d'.repeat(65)}\n  - id: ${'d'.repeat(64)}\n`)
  expect(lines.join('\n')).toContain(
    'devices[0].id: expected at most 64 characters (longer device ids are refused as bad-device-id)',
  )
  expect(lines.join('\n')).not.toContain('devices[1]')
})
