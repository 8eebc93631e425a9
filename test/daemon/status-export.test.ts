import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, expect, it } from 'vitest'
import { EXIT } from '../../src/exit-codes.js'
import { tempDir } from '../helpers/tmp.js'
import { runCli, useDaemon, withDeadline } from './cli-process.js'
import { connectClient, publishSeries, telemetry } from './harness.js'

const t0 = Date.now() - 3_600_000
const scene = useDaemon({
  http: { enabled: true },
  rules: [{ id: 'too-hot', metric: 'temperature', high: 30, severity: 'critical' }],
})

beforeAll(async () => {
  const sensor = await connectClient(scene.cfg.brokerPort)
  await publishSeries(sensor.client, 'bench-a', [20.5, 21.25], t0, 1000)
  await publishSeries(sensor.client, 'bench-b', [31], t0 + 5000, 1000)
  await sensor.client.publishAsync(
    'sensors/bench-c/telemetry',
    telemetry({ humidity: 44 }, t0 + 6000),
    { qos: 1 },
  )
  // two dead letters: text that is not a reading, and bytes that are not UTF-8
  await sensor.client.publishAsync('sensors/bench-d/telemetry', 'not a reading', { qos: 1 })
  await sensor.client.publishAsync('sensors/bench-e/telemetry', Buffer.from([0x7b, 0xff, 0xfe]), {
    qos: 1,
  })
  await sensor.close()
})

it('`floxgate status` beside the running daemon: health, active alerts, latest reading per device', async () => {
  const r = await runCli(['status', '--config', scene.cfg.file])
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  expect(r.stdout).toContain('floxgate gw-test')
  expect(r.stdout).toContain('health:   ok')
  expect(r.stdout).toMatch(/active alerts: 1\n\s+critical\s+bench-b temperature too-hot since/)
  expect(r.stdout).toContain('latest readings (3):')
  expect(r.stdout).toMatch(/bench-a\s+temperature\s+21\.25\s/)
  expect(r.stdout).toMatch(/bench-c\s+humidity\s+44\s/)
})

it('`floxgate export --format csv` writes the readings with a header', async () => {
  const r = await runCli(['export', '--config', scene.cfg.file, '--format', 'csv'])
  expect(r.code).toBe(0)
  const lines = r.stdout.trim().split('\n')
  expect(lines[0]).toBe('device,metric,ts,value,receivedAt')
  const rows = lines.slice(1).map((l) => l.split(','))
  expect(rows.map((c) => [c[0], c[1], Number(c[2]), Number(c[3])])).toEqual(
    expect.arrayContaining([
      ['bench-a', 'temperature', t0, 20.5],
      ['bench-a', 'temperature', t0 + 1000, 21.25],
      ['bench-b', 'temperature', t0 + 5000, 31],
      ['bench-c', 'humidity', t0 + 6000, 44],
    ]),
  )
  expect(rows).toHaveLength(4)
  expect(r.stderr).toContain('exported 4 readings')

  const one = await runCli([
    'export',
    '--config',
    scene.cfg.file,
    '--format',
    'ndjson',
    '--device',
    'bench-a',
  ])
  expect(
    one.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { value: number }).value),
  ).toEqual([20.5, 21.25])
})

it('`floxgate export --kind alerts` and `--kind dead-letters`: the same CSV and NDJSON', async () => {
  const alerts = await runCli(['export', '--config', scene.cfg.file, '--kind', 'alerts'])
  expect(alerts.code).toBe(0)
  const a = alerts.stdout.trim().split('\n')
  expect(a[0]).toBe('ts,device,metric,rule,kind,severity,state,value,threshold,since')
  expect(a.slice(1).map((l) => l.split(',').slice(1, 8))).toEqual([
    ['bench-b', 'temperature', 'too-hot', 'high', 'critical', 'raised', '31'],
  ])
  expect(alerts.stderr).toContain('exported 1 alerts')

  const dead = await runCli([
    'export',
    '--config',
    scene.cfg.file,
    '--kind',
    'dead-letters',
    '--format',
    'ndjson',
  ])
  expect(dead.code).toBe(0)
  const rows = dead.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  expect(rows.map((r) => [r.topic, r.payload, r.encoding])).toEqual([
    ['sensors/bench-d/telemetry', 'not a reading', 'utf8'],
    ['sensors/bench-e/telemetry', Buffer.from([0x7b, 0xff, 0xfe]).toString('base64'), 'base64'],
  ])
  expect(rows[0]).toMatchObject({ reason: expect.any(String), receivedAt: expect.any(Number) })
  // the time range applies as to readings: nothing received before t0
  const none = await runCli([
    'export',
    '--config',
    scene.cfg.file,
    '--kind',
    'dead-letters',
    '--to',
    String(t0),
  ])
  expect(none.stdout.trim()).toBe('receivedAt,topic,device,reason,detail,payload,encoding')
})

it('status exits 1 once the daemon is gone, and still reads the database', async () => {
  scene.daemon.child.kill('SIGTERM')
  expect(await withDeadline(scene.daemon.exited, 5000, 'exit after SIGTERM')).toBe(0)
  const r = await runCli(['status', '--config', scene.cfg.file])
  expect(r.code).toBe(1)
  expect(r.stdout).toMatch(/health:\s+daemon not reachable/)
  expect(r.stdout).toContain('latest readings (3):')
})

it('status and export read the database where the service keeps it ($STATE_DIRECTORY), and say so when there is none', async () => {
  const { dir, cleanup } = tempDir('floxgate-state-')
  try {
    const env = { STATE_DIRECTORY: dir }
    for (const args of [['status'], ['export', '--format', 'csv']]) {
      const r = await runCli([...args, '--config', scene.cfg.file], 15_000, env)
      expect(r.code).toBe(EXIT.DATABASE)
      expect(r.stderr).toContain(`no database at ${join(dir, 'floxgate.db')}`)
      expect(r.stderr).toContain('FLX_ERR_STORE_NOT_FOUND')
    }
    // read-only commands: nothing was created where the service's database is not
    expect(readdirSync(dir)).toEqual([])
  } finally {
    cleanup()
  }
})
