/**
 * Done-when of issue 12: a config of six lines, one preset each, stores the readings of
 * every preset's sample payloads with the device ids and metrics of docs/sensors.md, and
 * `floxgate export --format ndjson` shows them. The rtl_433 readings come from the real
 * rtl_433 decoding LaCrosse TX141W and TX141TH-Bv2 bit strings, piped into mosquitto_pub.
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { presetSamples } from '../../src/gateway/presets/samples.js'
import { tx141thCode, tx141wCode } from '../helpers/lacrosse-tx141.js'
import { waitFor } from '../helpers/wait.js'
import { type CliProcess, runCli, startDaemon, withDeadline } from './cli-process.js'
import {
  connectClient,
  openReader,
  type StoreReader,
  type TestConfig,
  writeTestConfig,
} from './harness.js'

const SIX_LINES = `sensors:
  topics:
    - preset: tasmota
    - preset: zigbee2mqtt
    - preset: esphome
    - preset: shelly
    - preset: rtl_433
    - preset: openmqttgateway
`

let cfg: TestConfig
let daemon: CliProcess
let db: StoreReader

/** rtl_433 decodes `code` and its JSON lines go straight into mosquitto_pub -l. */
async function rtl433ToMqtt(code: string, port: number): Promise<void> {
  const rtl = spawn('rtl_433', ['-R', '73', '-y', code, '-F', 'json'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const pub = spawn(
    'mosquitto_pub',
    ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', 'rtl_433/pi/events', '-l'],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  )
  let lines = ''
  rtl.stdout.on('data', (d: Buffer) => {
    lines += d.toString()
  })
  rtl.stdout.pipe(pub.stdin)
  const exited = (p: ReturnType<typeof spawn>) =>
    new Promise<number | null>((resolve) => p.on('exit', (c) => resolve(c)))
  const [rc, pc] = await withDeadline(
    Promise.all([exited(rtl), exited(pub)]),
    15_000,
    'rtl_433 | mosquitto_pub',
  )
  expect(rc).toBe(0)
  expect(pc).toBe(0)
  // The real decoder's output, not a copy of it.
  expect(lines).toMatch(/"model" : "LaCrosse-TX141/)
}

beforeAll(async () => {
  cfg = await writeTestConfig({ log: { level: 'info' } })
  // The test config's broker, store and ports, plus the six lines as a user writes them.
  writeFileSync(cfg.file, `${readBase(cfg)}${SIX_LINES}`)
  daemon = await startDaemon(cfg.file)
  const sensor = await connectClient(cfg.brokerPort)
  for (const s of presetSamples(Date.now() / 1000)) {
    if (s.preset === 'rtl_433') continue
    await sensor.client.publishAsync(s.topic, s.payload, { qos: 1 })
  }
  // Not readings, and not dead letters either.
  await sensor.client.publishAsync('zigbee2mqtt/bridge/state', '{"state":"online"}', { qos: 1 })
  // A payload a preset does not understand.
  await sensor.client.publishAsync('rtl_433/pi/events', '{"model":"Remote","id":5,"button":1}', {
    qos: 1,
  })
  await sensor.close()
  await rtl433ToMqtt(
    tx141wCode({ id: 107187, channel: 1, celsius: 21.4, humidity: 48 }),
    cfg.brokerPort,
  )
  await rtl433ToMqtt(
    tx141thCode({ id: 0x5a, channel: 2, celsius: -3.7, humidity: 81 }),
    cfg.brokerPort,
  )
  db = openReader(cfg.dbFile)
}, 60_000)

afterAll(async () => {
  db?.close()
  await daemon?.kill()
  cfg?.cleanup()
})

function readBase(c: TestConfig): string {
  const { sensors: _s, ...rest } = c.values as Record<string, unknown>
  return yamlOf(rest)
}

function yamlOf(v: Record<string, unknown>): string {
  // JSON is YAML: one flow mapping per top-level key keeps the file valid and short.
  return Object.entries(v)
    .map(([k, val]) => `${k}: ${JSON.stringify(val)}\n`)
    .join('')
}

const EXPECTED: Array<[string, string, number]> = [
  ...presetSamples()
    .filter((s) => s.preset !== 'rtl_433')
    .flatMap((s) => s.readings.map((r) => [...r] as [string, string, number])),
  ['LaCrosse-TX141W-1-107187', 'temperature', 21.4],
  ['LaCrosse-TX141W-1-107187', 'humidity', 48],
  ['LaCrosse-TX141W-1-107187', 'battery', 100],
  ['LaCrosse-TX141THBv2-2-90', 'temperature', -3.7],
  ['LaCrosse-TX141THBv2-2-90', 'humidity', 81],
  ['LaCrosse-TX141THBv2-2-90', 'battery', 100],
]

it('stores every preset sample with the device ids and metrics of the table', async () => {
  const rows = await waitFor(
    () => (db.readings().length >= EXPECTED.length ? db.readings() : undefined),
    {
      timeoutMs: 15_000,
      what: `${EXPECTED.length} readings`,
    },
  )
  const got = rows.map((r) => [r.device, r.metric, Math.round(r.value * 1000) / 1000])
  expect(got).toEqual(expect.arrayContaining(EXPECTED))
  expect(got).toHaveLength(EXPECTED.length)
})

it('`floxgate export --format ndjson` shows them', async () => {
  const r = await runCli(['export', '--config', cfg.file, '--format', 'ndjson'])
  expect(r.code).toBe(0)
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { device: string; metric: string; value: number })
  expect(lines.map((l) => [l.device, l.metric, Math.round(l.value * 1000) / 1000])).toEqual(
    expect.arrayContaining(EXPECTED),
  )
  expect(lines).toHaveLength(EXPECTED.length)
})

it('the payload the preset does not understand is a dead letter naming preset and field; bridge topics leave none', async () => {
  const dead = await waitFor(() => (db.deadLetters().length > 0 ? db.deadLetters() : undefined))
  expect(dead.map((d) => [d.topic, d.reason, d.detail])).toEqual([
    [
      'rtl_433/pi/events',
      'missing-field',
      expect.stringMatching(
        /^rtl_433 preset, field temperature_C: the Remote event has none of the fields/,
      ),
    ],
  ])
})
