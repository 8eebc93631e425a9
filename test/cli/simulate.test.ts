import { afterAll, beforeAll, expect, it } from 'vitest'
import { EXIT } from '../../src/exit-codes.js'
import { runCli } from '../daemon/cli-process.js'
import {
  type RunningGateway,
  startGateway,
  type TestConfig,
  writeTestConfig,
} from '../daemon/harness.js'
import { waitFor } from '../helpers/wait.js'

let cfg: TestConfig
let gw: RunningGateway

beforeAll(async () => {
  cfg = await writeTestConfig({
    rules: [{ id: 'overheat', metric: 'temperature', high: 40, count: 2, severity: 'critical' }],
  })
  gw = await startGateway(cfg.file)
})
afterAll(async () => {
  await gw?.stop()
  cfg?.cleanup()
})

it('floxgate simulate drives a gateway to alerts and dead letters within seconds', async () => {
  const { code, stdout } = await runCli(
    [
      'simulate',
      '--url',
      `mqtt://127.0.0.1:${gw.port}`,
      '--devices',
      '4',
      '--interval',
      '100',
      '--duration',
      '3',
      '--anomalies-after',
      '0',
    ],
    20_000,
  )
  expect(code).toBe(0)
  expect(stdout).toContain('sim-1=spike')
  expect(stdout).toMatch(/done: sent \d+ messages/)
  await waitFor(() => gw.db.alerts().some((a) => a.device === 'sim-1' && a.rule === 'overheat'), {
    what: 'the spike raising overheat on sim-1',
  })
  // The garbage device produced dead letters; the others were stored.
  expect(gw.db.deadLetters().some((d) => d.device === 'sim-4')).toBe(true)
  for (const d of ['sim-1', 'sim-2', 'sim-4']) expect(gw.db.readings(d).length).toBeGreaterThan(0)
  expect(gw.db.readings('sim-3')).toEqual([]) // dropout from the start
})

it('floxgate simulate with a URL that is not an MQTT broker address: exit 2, the code and what to write', async () => {
  const { code, stderr } = await runCli([
    'simulate',
    '--url',
    'http://127.0.0.1:1',
    '--duration',
    '1',
  ])
  expect(code).toBe(EXIT.USAGE)
  expect(stderr).toContain('--url "http://127.0.0.1:1" is not an MQTT broker address')
  expect(stderr).toContain('FLX_ERR_MQTT_BAD_URL')
})
