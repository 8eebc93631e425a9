import { describe, expect, it } from 'vitest'
import { WindowAggregator } from '../../src/gateway/window-aggregator.js'
import { reading } from './fixtures.js'

const MIN = 60_000
const T0 = Date.parse('2026-03-01T12:00:00Z')

describe('WindowAggregator', () => {
  it('aggregates count, min, max, mean and last over windows aligned to the size', () => {
    const agg = new WindowAggregator({ windowMs: MIN })
    expect(agg.add(reading('d1', 20, T0 + 5000))).toBeUndefined()
    expect(agg.add(reading('d1', 24, T0 + 10_000))).toBeUndefined()
    expect(agg.add(reading('d1', 22, T0 + 59_999))).toBeUndefined()
    const closed = agg.add(reading('d1', 30, T0 + MIN))
    expect(closed).toEqual({
      device: 'd1',
      metric: 'temperature',
      windowStart: T0,
      windowEnd: T0 + MIN,
      count: 3,
      min: 20,
      max: 24,
      mean: 22,
      last: 22,
    })
  })

  it('keeps series apart by device and metric', () => {
    const agg = new WindowAggregator({ windowMs: MIN })
    agg.add(reading('d1', 20, T0))
    agg.add(reading('d2', 30, T0))
    agg.add(reading('d1', 50, T0, 'humidity'))
    const out = agg.closeDue(T0 + MIN)
    expect(out.map((a) => [a.device, a.metric, a.count, a.mean])).toEqual([
      ['d1', 'temperature', 1, 20],
      ['d1', 'humidity', 1, 50],
      ['d2', 'temperature', 1, 30],
    ])
  })

  it('closes a window on the timer without new readings, after the grace period', () => {
    const agg = new WindowAggregator({ windowMs: MIN, graceMs: 2000 })
    agg.add(reading('d1', 20, T0 + 1000))
    expect(agg.closeDue(T0 + MIN + 1999)).toEqual([])
    const [w] = agg.closeDue(T0 + MIN + 2000)
    expect(w).toMatchObject({ windowStart: T0, count: 1, last: 20 })
    expect(agg.closeDue(T0 + 10 * MIN)).toEqual([])
  })

  it('drops late readings of a closed window from aggregates and counts them', () => {
    const agg = new WindowAggregator({ windowMs: MIN })
    agg.add(reading('d1', 20, T0 + 1000))
    agg.closeDue(T0 + MIN)
    expect(agg.add(reading('d1', 99, T0 + 30_000))).toBeUndefined()
    expect(agg.late).toBe(1)
    agg.add(reading('d1', 21, T0 + MIN + 1000))
    // A reading older than the open window is late too.
    agg.add(reading('d1', 98, T0 + 5000))
    expect(agg.late).toBe(2)
    expect(agg.flush()).toMatchObject([{ windowStart: T0 + MIN, count: 1, max: 21 }])
  })

  it('takes last from the newest timestamp, not the arrival order', () => {
    const agg = new WindowAggregator({ windowMs: MIN })
    agg.add(reading('d1', 1, T0 + 20_000))
    agg.add(reading('d1', 2, T0 + 10_000))
    expect(agg.flush()[0]).toMatchObject({ count: 2, last: 1, min: 1, max: 2, mean: 1.5 })
  })

  it('skips empty windows: a gap closes the old window and opens the one of the reading', () => {
    const agg = new WindowAggregator({ windowMs: MIN })
    agg.add(reading('d1', 20, T0))
    const closed = agg.add(reading('d1', 25, T0 + 5 * MIN + 10))
    expect(closed).toMatchObject({ windowStart: T0, windowEnd: T0 + MIN })
    expect(agg.flush()[0]).toMatchObject({ windowStart: T0 + 5 * MIN, windowEnd: T0 + 6 * MIN })
  })
})
