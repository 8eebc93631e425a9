import { describe, expect, it } from 'vitest'
import { Backoff } from '../../src/uplink/backoff.js'
import { TokenBucket } from '../../src/uplink/token-bucket.js'

describe('TokenBucket (replay pacing)', () => {
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
})

describe('Backoff (reconnect)', () => {
  it('doubles up to the cap, jittered within [delay/2, delay], and resets', () => {
    const lo = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 })
    const hi = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 })
    expect([1, 2, 3, 4, 5, 6].map(() => lo.next())).toEqual([50, 100, 200, 400, 500, 500])
    expect([1, 2, 3, 4, 5, 6].map(() => hi.next())).toEqual([100, 200, 400, 800, 1000, 1000])
    lo.reset()
    expect(lo.next()).toBe(50)
  })

  it('stays finite after very many attempts', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 30_000 })
    let last = 0
    for (let i = 0; i < 5000; i++) last = b.next()
    expect(last).toBeGreaterThanOrEqual(15_000)
    expect(last).toBeLessThanOrEqual(30_000)
  })
})
