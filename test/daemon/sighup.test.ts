import { afterAll, beforeAll, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { useDaemon, withDeadline } from './cli-process.js'
import { connectClient, publishSeries, type RecordingClient } from './harness.js'

const rules = (high: unknown) => [{ id: 'too-hot', metric: 'temperature', high }]

const scene = useDaemon({ rules: rules(30) })
let sensor: RecordingClient
beforeAll(async () => {
  sensor = await connectClient(scene.cfg.brokerPort)
})
afterAll(async () => {
  await sensor?.close()
})

it('SIGHUP with an invalid config keeps the running one and logs why; with a valid one applies it', async () => {
  const { cfg, daemon, db } = scene
  const t0 = Date.now() - 600_000
  cfg.rewrite({ rules: rules('thirty') })
  daemon.child.kill('SIGHUP')
  const refused = await daemon.waitForLog(/the new config is invalid and was NOT applied/)
  expect(String(refused.err)).toContain('rules[0].high: expected a number, got "thirty"')
  // Still the old rules (30), still serving.
  await publishSeries(sensor.client, 'a', [31], t0, 1000)
  expect(db.alerts().map((x) => [x.device, x.state])).toEqual([['a', 'raised']])

  cfg.rewrite({ rules: rules(40) })
  daemon.child.kill('SIGHUP')
  await daemon.waitForLog(/^config reloaded/)
  // 35 raised under the old threshold; under the new one it does not.
  await publishSeries(sensor.client, 'b', [35], t0 + 1000, 1000)
  await publishSeries(sensor.client, 'c', [41], t0 + 2000, 1000)
  expect(db.alerts().map((x) => [x.device, x.state])).toEqual([
    ['a', 'raised'],
    ['c', 'raised'],
  ])
  expect(db.readings('b')).toHaveLength(1)

  daemon.child.kill('SIGTERM')
  expect(await withDeadline(daemon.exited, 5000, 'exit after SIGTERM')).toBe(0)
  await waitFor(() => daemon.logs.some((l) => l.msg === 'stopped cleanly'), { what: 'clean stop' })
})
