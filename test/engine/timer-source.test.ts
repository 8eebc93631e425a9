import { describe, expect, it } from 'vitest'
import {
  ChannelEventSource,
  EventDrivenWorkflow,
  isTimerTick,
  processor,
  SOURCE_CLOSED,
  TimerEventSource,
  type TimerTick,
} from '../../src/index.js'
import { waitFor } from '../helpers/wait.js'

describe('timer source', () => {
  it('emits ticks into a workflow beside a channel source and stops on close', async () => {
    type Ev = TimerTick | { readonly reading: number }
    const timer = new TimerEventSource(5, 'stale-check')
    const readings = new ChannelEventSource<Ev>(8, 'readings')
    const ticks: TimerTick[] = []
    const values: number[] = []
    const wf = new EventDrivenWorkflow<Ev, unknown, 'default'>()
      .addNode(timer)
      .addNode(readings)
      .addNode(
        processor<Ev, unknown, 'default'>('sink', (e) => {
          if (isTimerTick(e)) ticks.push(e)
          else values.push(e.reading)
          return 'default'
        }),
      )
      .setRoute('stale-check', 'default', 'sink')
      .setRoute('readings', 'default', 'sink')
    const run = wf.execute(undefined)
    await readings.send({ reading: 1 })
    await waitFor(() => ticks.length >= 3, { what: 'three ticks' })
    timer.close()
    readings.close()
    const res = await run
    expect(res.reason).toBe('closed')
    expect(values).toEqual([1])
    expect(ticks[0]).toMatchObject({ kind: 'tick', timer: 'stale-check', seq: 1 })
    expect(ticks.map((t) => t.seq)).toEqual(ticks.map((_, i) => i + 1))
    const after = ticks.length
    expect(await timer.waitForEvent()).toBe(SOURCE_CLOSED)
    expect(ticks.length).toBe(after)
  })

  it('merges missed ticks instead of piling them up', async () => {
    const timer = new TimerEventSource(2, 't')
    const first = await timer.waitForEvent()
    expect(isTimerTick(first)).toBe(true)
    // Nobody takes ticks for a while: they merge into one pending tick.
    await waitFor(() => timer.backlog >= 3, { what: 'three missed ticks' })
    const merged = timer.pollEvent()
    expect(isTimerTick(merged)).toBe(true)
    expect((merged as TimerTick).seq).toBe(2)
    expect((merged as TimerTick).missed).toBeGreaterThanOrEqual(2)
    expect(timer.backlog).toBeLessThanOrEqual(1)
    timer.close()
    expect(timer.pollEvent()).not.toMatchObject({ kind: 'tick' })
  })

  it('a wait aborted by its signal rejects', async () => {
    const timer = new TimerEventSource(60_000, 't')
    const ac = new AbortController()
    const w = timer.waitForEvent(ac.signal)
    ac.abort(new Error('stop'))
    await expect(w).rejects.toThrow('stop')
    timer.close()
  })
})
