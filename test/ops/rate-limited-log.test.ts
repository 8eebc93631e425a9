import { pino } from 'pino'
import { expect, it } from 'vitest'
import { RateLimitedLog } from '../../src/ops/rate-limited-log.js'

it('logs the first of a kind at once, then one line per interval with the suppressed count', () => {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) })
  let now = 0
  const log = new RateLimitedLog(logger, 10_000, () => now)
  for (let i = 0; i < 1000; i++) log.warn('rate-limited:sensor-1', { i }, 'refused')
  log.warn('acl-publish:sensor-2', {}, 'refused') // another kind is not held back
  expect(lines.map((l) => l.kind)).toEqual(['rate-limited:sensor-1', 'acl-publish:sensor-2'])
  now = 10_000
  log.warn('rate-limited:sensor-1', { i: 1000 }, 'refused')
  expect(lines).toHaveLength(3)
  expect(lines[2]).toMatchObject({ kind: 'rate-limited:sensor-1', suppressed: 999, i: 1000 })
})

it('keeps at most 1,000 kinds, clipped, and writes at most 50 lines per interval, counting the rest', () => {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) })
  let now = 0
  const log = new RateLimitedLog(logger, 10_000, () => now)
  // a refused CONNECT per hostile client id of 50 KB (kinds that differ only past 200
  // characters are one kind)
  for (let i = 0; i < 10_000; i++)
    log.warn(`bad-client-id:${i}:${'c'.repeat(50_000)}`, {}, 'refused')
  expect(log.size).toBeLessThanOrEqual(1000)
  expect(lines).toHaveLength(50)
  for (const l of lines) expect(String(l.kind).length).toBeLessThanOrEqual(200)
  now = 10_000
  log.warn('slow-consumer:x', {}, 'refused')
  expect(lines).toHaveLength(51)
  expect(lines[50]).toMatchObject({ kind: 'slow-consumer:x', othersSuppressed: 9950 })
  // 1,500 more kinds, 50 per interval: the map keeps the 1,000 most recent
  for (let i = 0; i < 1500; i++) {
    if (i % 50 === 0) now += 10_000
    log.warn(`bad-client-id:later-${i}`, {}, 'refused')
  }
  expect(lines).toHaveLength(51 + 1500)
  expect(log.size).toBe(1000)
})
