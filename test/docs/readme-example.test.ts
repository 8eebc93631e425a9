import { expect, test } from 'vitest'
import { ChannelEventSource, EventDrivenWorkflow, processor } from '../../src/index.js'

// The README's engine snippet, verbatim, so the documentation cannot rot.
test('the README engine example routes a high reading and terminates on a critical one', async () => {
  type Reading = { sensor: string; celsius: number }
  type Action = 'default' | 'high' | 'normal' | 'terminate'
  const source = new ChannelEventSource<Reading>(64, 'readings')
  const wf = new EventDrivenWorkflow<Reading, { alerts: string[] }, Action>()
    .addNode(source)
    .addNode(
      processor('classify', (r) =>
        r.celsius >= 40 ? 'terminate' : r.celsius >= 30 ? 'high' : 'normal',
      ),
    )
    .addNode(
      processor('alert', (r, ctx) => {
        ctx.alerts.push(r.sensor)
        return 'default' as const
      }),
    )
    .setRoute('readings', 'default', 'classify')
    .setRoute('classify', 'high', 'alert')
  await source.send({ sensor: 't1', celsius: 31 })
  await source.send({ sensor: 't1', celsius: 45 })
  const ctx = { alerts: [] as string[] }
  const result = await wf.execute(ctx, { timeoutMs: 1000 })
  expect(result.reason).toBe('terminated')
  expect(ctx.alerts).toEqual(['t1'])
})
