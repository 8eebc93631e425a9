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
