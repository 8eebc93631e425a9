import { existsSync, statSync } from 'node:fs'
import { expect, it } from 'vitest'
import { sampleSum } from '../helpers/prometheus.js'
import { useDaemon, withDeadline } from './cli-process.js'
import { connectClient, publishSeries } from './harness.js'

const scene = useDaemon({
  http: { enabled: true },
  // The pipeline check's limit (the watchdog's too, when systemd sets WatchdogSec=).
  watchdog: { enabled: false, stallSeconds: 7 },
})

it('/healthz answers 200 with every check ok, and /metrics counts readings after traffic', async () => {
  const { cfg, daemon } = scene
  const base = `http://127.0.0.1:${cfg.httpPort}`
  const health = await fetch(`${base}/healthz`)
  expect(health.status).toBe(200)
  const body = (await health.json()) as {
    status: string
    checks: Record<string, { ok: boolean; detail?: string }>
  }
  expect(body.status).toBe('ok')
  expect(Object.keys(body.checks)).toEqual(
    expect.arrayContaining(['broker', 'database', 'disk', 'pipeline']),
  )
  // the clock ticks get through the running daemon's workflow
  expect(body.checks.pipeline?.ok).toBe(true)
  expect(body.checks.pipeline?.detail).toMatch(
    /^last clock tick processed \d+ ms ago \(limit 7 s\)$/,
  )

  const sensor = await connectClient(cfg.brokerPort)
  await publishSeries(sensor.client, 'shed', [10, 11, 12, 13, 14], Date.now() - 60_000, 1000)
  await sensor.client.publishAsync('sensors/shed/telemetry', '[]', { qos: 1 })
  await sensor.close()

  const metrics = await (await fetch(`${base}/metrics`)).text()
  expect(metrics).toMatch(/^floxgate_readings_in_total\{device_class="generic"\} 5$/m)
  expect(metrics).toMatch(/^floxgate_readings_stored_total 5$/m)
  expect(metrics).toMatch(/^floxgate_dead_letters_total\{reason="not-an-object"\} 1$/m)
  // the buffer on disk: the database file and its WAL
  const size = (f: string) => (existsSync(f) ? statSync(f).size : 0)
  const bytes = sampleSum(metrics, 'floxgate_buffer_bytes')
  expect(bytes).toBeGreaterThanOrEqual(size(cfg.dbFile))
  expect(bytes).toBeLessThanOrEqual(size(cfg.dbFile) + size(`${cfg.dbFile}-wal`))

  daemon.child.kill('SIGTERM')
  expect(await withDeadline(daemon.exited, 5000, 'exit after SIGTERM')).toBe(0)
})
