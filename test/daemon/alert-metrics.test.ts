import { expect, it } from 'vitest'
import { sampleSum } from '../helpers/prometheus.js'
import { publishSeries, useScene } from './harness.js'

/**
 * The alert metrics of the running gateway against what it stored: raised and cleared
 * per severity count the transitions in alert_events, and the active gauge is the
 * alerts raised and not cleared.
 */
const scene = useScene({
  rules: [
    { id: 'too-hot', metric: 'temperature', high: 30, severity: 'critical' },
    { id: 'too-damp', metric: 'humidity', high: 80, severity: 'warning' },
  ],
})

async function sample(series: string): Promise<number> {
  return sampleSum(await scene.gw.metrics.text(), series)
}

it('floxgate_alerts_raised_total, _cleared_total and floxgate_alerts_active follow the alert history', async () => {
  const t0 = Date.now() - 3_600_000
  const c = scene.sensor.client
  // attic: raised and cleared; cellar: raised and still active
  await publishSeries(c, 'attic', [25, 31, 25], t0, 1000)
  await publishSeries(c, 'cellar', [25, 32], t0, 1000)
  for (const [i, h] of [70, 85].entries()) {
    await c.publishAsync(
      'sensors/cellar/telemetry',
      JSON.stringify({ humidity: h, ts: t0 + 5000 + i }),
      {
        qos: 1,
      },
    )
  }

  const events = scene.gw.db.alerts()
  expect(events.map((a) => [a.device, a.rule, a.state])).toEqual([
    ['attic', 'too-hot', 'raised'],
    ['attic', 'too-hot', 'cleared'],
    ['cellar', 'too-hot', 'raised'],
    ['cellar', 'too-damp', 'raised'],
  ])
  expect(await sample('floxgate_alerts_raised_total{severity="critical"}')).toBe(2)
  expect(await sample('floxgate_alerts_raised_total{severity="warning"}')).toBe(1)
  expect(await sample('floxgate_alerts_cleared_total{severity="critical"}')).toBe(1)
  expect(await sample('floxgate_alerts_cleared_total')).toBe(1)
  expect(await sample('floxgate_alerts_active')).toBe(2)
})
