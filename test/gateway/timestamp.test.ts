import { describe, expect, it } from 'vitest'
import { parseTimestamp } from '../../src/gateway/timestamp.js'

const MS = Date.parse('2026-03-01T12:00:00Z')

describe('parseTimestamp', () => {
  it.each([
    ['seconds', MS / 1000, MS],
    ['milliseconds', MS, MS],
    ['microseconds', MS * 1000, MS],
    ['seconds as digits', String(MS / 1000), MS],
    ['ISO with Z', '2026-03-01T12:00:00Z', MS],
    ['ISO with offset and fraction', '2026-03-01T14:00:00.500+02:00', MS + 500],
    ['ISO with a space', '2026-03-01 12:00:00Z', MS],
  ])('reads %s', (_name, raw, expected) => {
    expect(parseTimestamp(raw)).toBe(expected)
  })

  it.each([
    ['negative', -5],
    ['nanoseconds', MS * 1e6],
    ['zone-less ISO', '2026-03-01T12:00:00'],
    ['a date without time', '2026-03-01'],
    ['prose', 'March 1 2026'],
    ['a boolean', true],
    ['an object', { s: 1 }],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('refuses %s', (_name, raw) => {
    expect(parseTimestamp(raw)).toBeNaN()
  })
})

it('refuses calendar dates that do not exist instead of rolling them over', () => {
  expect(parseTimestamp('2026-11-31T12:00:00Z')).toBeNaN()
  expect(parseTimestamp('2026-02-29T12:00:00Z')).toBeNaN()
  expect(parseTimestamp('2026-13-01T12:00:00Z')).toBeNaN()
  expect(parseTimestamp('2028-02-29T12:00:00Z')).toBe(Date.UTC(2028, 1, 29, 12))
  expect(parseTimestamp('2026-11-30T12:00:00Z')).toBe(Date.UTC(2026, 10, 30, 12))
})
