import { describe, expect, it } from 'vitest'
import { filterCovers, isValidFilter, matchTopic } from '../../src/broker/topic-filter.js'

describe('topic filters', () => {
  it.each([
    ['sensors/+/telemetry', true],
    ['sensors/#', true],
    ['#', true],
    ['sensors/#/x', false],
    ['sensors/a+/x', false],
    ['sensors/ab#', false],
    ['', false],
  ])('isValidFilter(%j) is %s', (f, ok) => expect(isValidFilter(f)).toBe(ok))

  it.each([
    ['sensors/+/telemetry', 'sensors/d1/telemetry', true],
    ['sensors/+/telemetry', 'sensors/d1/x/telemetry', false],
    ['sensors/#', 'sensors', true],
    ['sensors/#', 'sensors/a/b', true],
    ['sensors/+', 'sensors', false],
    ['#', '$SYS/broker', false],
    ['+/broker', '$SYS/broker', false],
    ['$SYS/#', '$SYS/broker', true],
    ['a/b', 'a/b/c', false],
  ])('matchTopic(%j, %j) is %s', (f, t, ok) => expect(matchTopic(f, t)).toBe(ok))

  it.each([
    ['floxgate/alerts/#', 'floxgate/alerts/+/temperature', true],
    ['floxgate/alerts/#', 'floxgate/alerts/#', true],
    ['floxgate/alerts/#', '#', false],
    ['floxgate/alerts/#', '+/alerts/#', false],
    ['floxgate/alerts/+', 'floxgate/alerts/#', false],
    ['floxgate/+/x', 'floxgate/a/x', true],
    ['#', '$SYS/#', false],
    ['sensors/d1/#', 'sensors/d2/#', false],
  ])('filterCovers(%j, %j) is %s', (a, r, ok) => expect(filterCovers(a, r)).toBe(ok))
})
