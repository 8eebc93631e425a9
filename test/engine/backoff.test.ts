import { describe, expect, it } from 'vitest'
import { Attempts, reconnectBackoff } from '../../src/engine/backoff.js'
import { ERR, isError } from '../../src/errors.js'
import {
  constantBackoff,
  customBackoff,
  exponentialBackoff,
  linearBackoff,
} from '../../src/index.js'

const first = (b: (n: number) => number, n: number) => Array.from({ length: n }, (_, i) => b(i + 1))

describe('backoff policies', () => {
  it('constant', () => {
    expect(first(constantBackoff(50), 4)).toEqual([50, 50, 50, 50])
  })
  it('linear, with step and cap', () => {
    expect(first(linearBackoff(100), 4)).toEqual([100, 200, 300, 400])
    expect(first(linearBackoff(100, 50, 220), 5)).toEqual([100, 150, 200, 220, 220])
  })
  it('exponential, capped', () => {
    expect(first(exponentialBackoff(10, 100), 6)).toEqual([10, 20, 40, 80, 100, 100])
    expect(first(exponentialBackoff(1, 1000, 3), 4)).toEqual([1, 3, 9, 27])
  })
  it('custom, checked', () => {
    expect(
      first(
        customBackoff((n) => n * n),
        3,
      ),
    ).toEqual([1, 4, 9])
    const bad = customBackoff(() => -1)
    let err: unknown
    try {
      bad(1)
    } catch (e) {
      err = e
    }
    expect(isError(err, ERR.ENGINE_BAD_OPTION)).toBe(true)
  })
  it('refuses nonsense parameters', () => {
    expect(() => constantBackoff(Number.NaN)).toThrow(/delayMs/)
    expect(() => exponentialBackoff(10, 100, 0.5)).toThrow(/factor/)
  })
})

describe('reconnect backoff (external broker, uplinks)', () => {
  it('doubles up to the cap, jittered within [delay/2, delay], and resets', () => {
    const lo = new Attempts(reconnectBackoff(100, 1000, () => 0))
    const hi = new Attempts(reconnectBackoff(100, 1000, () => 0.999999))
    expect([1, 2, 3, 4, 5, 6].map(() => lo.next())).toEqual([50, 100, 200, 400, 500, 500])
    expect([1, 2, 3, 4, 5, 6].map(() => hi.next())).toEqual([100, 200, 400, 800, 1000, 1000])
    expect(lo.count).toBe(6)
    lo.reset()
    expect(lo.next()).toBe(50)
    expect(lo.count).toBe(1)
  })

  it('stays finite after very many attempts', () => {
    const b = new Attempts(reconnectBackoff(500, 30_000))
    let last = 0
    for (let i = 0; i < 5000; i++) last = b.next()
    expect(last).toBeGreaterThanOrEqual(15_000)
    expect(last).toBeLessThanOrEqual(30_000)
    // a zero first wait stays zero, not NaN, however many attempts failed
    const zero = new Attempts(reconnectBackoff(0, 1000))
    for (let i = 0; i < 5000; i++) last = zero.next()
    expect(last).toBe(0)
  })
})
