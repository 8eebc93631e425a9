import { describe, expect, it } from 'vitest'
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
