import { describe, expect, it } from 'vitest'
import { TokenBucket } from '../../src/engine/token-bucket.js'
import { ERR, isError } from '../../src/errors.js'

describe('TokenBucket (client budget in the embedded broker, uplink replay pacing)', () => {
  it('grants the burst at once, then exactly the rate over time', () => {
    let now = 0
    const b = new TokenBucket(100, 10, () => now)
    expect(b.take(64)).toBe(10)
    expect(b.take(64)).toBe(0)
    expect(b.msUntilToken()).toBe(10)
    now += 50 // 5 tokens accrue
    expect(b.take(64)).toBe(5)
    // 10 s of asking for everything: never more than burst + rate * elapsed.
    let granted = 15
    for (let i = 0; i < 1000; i++) {
      now += 10
      granted += b.take(64)
    }
    expect(granted).toBeLessThanOrEqual(10 + (100 * now) / 1000)
    expect(granted).toBeGreaterThanOrEqual((100 * now) / 1000 - 1)
    expect(b.granted).toBe(granted)
  })

  it('caps the stored tokens at the burst after an idle period', () => {
    let now = 0
    const b = new TokenBucket(1000, 20, () => now)
    b.take(20)
    now += 60_000
    expect(b.take(1000)).toBe(20)
  })

  it('takes refunds back, up to the burst', () => {
    let now = 0
    const b = new TokenBucket(10, 5, () => now)
    expect(b.take(5)).toBe(5)
    b.refund(3)
    expect(b.take(5)).toBe(3)
    expect(b.granted).toBe(5)
    now += 0
    expect(b.msUntilToken()).toBe(100)
  })

  it('spends one token per call by default (a message), and refuses a budget that allows nothing', () => {
    let now = 0
    const b = new TokenBucket(2, 2, () => now)
    expect([b.take(), b.take(), b.take()]).toEqual([1, 1, 0])
    now += 500
    expect(b.take()).toBe(1)
    for (const [rate, burst] of [
      [0, 10],
      [10, 0.5],
      [Number.NaN, 10],
    ] as const) {
      let err: unknown
      try {
        new TokenBucket(rate, burst)
      } catch (e) {
        err = e
      }
      expect(isError(err, ERR.ENGINE_BAD_OPTION)).toBe(true)
    }
  })
})
