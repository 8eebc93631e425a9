import { afterEach, beforeEach, expect, it } from 'vitest'
import {
  EventDrivenWorkflow,
  processor,
  TimerEventSource,
  type TimerTick,
} from '../../src/index.js'
import { EventLoopLag } from '../../src/ops/event-loop-lag.js'
import { eventLoopCheck, runChecks } from '../../src/ops/health.js'
import { PipelineProgress } from '../../src/ops/pipeline-progress.js'
import { SystemdNotifier } from '../../src/ops/systemd-notify.js'
import { Watchdog } from '../../src/ops/watchdog.js'
import { waitFor } from '../helpers/wait.js'
import { type NotifyReceiver, startNotifyReceiver } from './notify-receiver.js'

let receiver: NotifyReceiver
let lag: EventLoopLag
beforeEach(async () => {
  receiver = await startNotifyReceiver()
  lag = new EventLoopLag({ windowMs: 200 })
})
afterEach(async () => {
  lag.stop()
  await receiver.close()
})

// The gateway's shape: a clock source whose ticks go through the workflow one path at a
// time; the beat is taken where the housekeeping node takes it.
it('a workflow stuck on a healthy event loop stops feeding the watchdog', async () => {
  const progress = new PipelineProgress()
  const clock = new TimerEventSource(10, 'clock')
  let release: (() => void) | undefined
  let stuck = false
  const wf = new EventDrivenWorkflow<TimerTick, unknown, 'default'>()
    .addNode(clock)
    .addNode(
      processor<TimerTick, unknown, 'default'>('housekeeping', async () => {
        progress.beat()
        // a node awaiting something that never settles (bounded: released at the end)
        if (stuck) await new Promise<void>((r) => (release = r))
        return 'default' as const
      }),
    )
    .setRoute('clock', 'default', 'housekeeping')
  const run = wf.execute(undefined)
  const checks = { pipeline: progress.check(300), eventLoop: eventLoopCheck(lag, 300) }
  const notifier = new SystemdNotifier({ socket: receiver.socket })
  const wd = new Watchdog({
    notifier,
    checks,
    watchdogUsec: '100000000', // ticks driven by the test, not by the interval
    watchdogPid: String(process.pid),
  })
  const pings = () => receiver.messages().filter((m) => m === 'WATCHDOG=1').length

  await wd.tick()
  await waitFor(() => pings() === 1, { what: 'a ping while the pipeline moves' })

  stuck = true
  await waitFor(() => release !== undefined, { what: 'the node to get stuck' })
  const report = await waitFor(
    async () => {
      const r = await runChecks(checks)
      return r.checks.pipeline?.ok === false ? r : undefined
    },
    { what: 'the pipeline check to fail' },
  )
  // the loop itself is fine: only the pipeline check sees the stall
  expect(report.checks.eventLoop?.ok).toBe(true)
  expect(report.checks.pipeline).toMatchObject({ reason: expect.stringMatching(/a node is stuck/) })
  for (let i = 0; i < 3; i++) await wd.tick()
  // a datagram after those ticks: once it is in, any ping they sent would be too
  await notifier.status('marker')
  await waitFor(() => receiver.messages().includes('STATUS=marker'), { what: 'the marker' })
  expect(pings()).toBe(1)

  // once the node moves again, pings resume
  stuck = false
  release?.()
  await waitFor(async () => (await runChecks(checks)).ok, { what: 'the pipeline to move again' })
  await wd.tick()
  await waitFor(() => pings() === 2, { what: 'a ping after the stall' })
  clock.close()
  await run
})
