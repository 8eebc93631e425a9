import { statSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import type { AlertEvent } from '../../src/gateway/reading.js'
import { deadLetter, reading, readingItem, T0, tempStore } from './fixtures.js'

let cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups) c()
  cleanups = []
})

const HOUR = 3_600_000

/** First row of a streamed range; ending the loop early closes the statement. */
function firstOf<T>(rows: Iterable<T>): T | undefined {
  for (const r of rows) return r
  return undefined
}

function alert(ts: number, state: AlertEvent['state']): AlertEvent {
  return {
    gateway: 'gw',
    device: 'd1',
    metric: 'temperature',
    rule: 'too-hot',
    kind: 'high',
    severity: 'warning',
    state,
    value: 31,
    threshold: 30,
    ts,
    since: ts,
  }
}

describe('retention', () => {
  it('deletes readings, aggregates, alert history and dead letters older than maxAge', async () => {
    const t = tempStore({ maxAgeMs: 24 * HOUR })
    cleanups.push(t.cleanup)
    const s = t.store
    for (let h = 0; h < 48; h++) {
      const ts = T0 + h * HOUR
      s.write(readingItem({ reading: reading('d1', ts) }))
      s.write({
        kind: 'aggregate',
        aggregate: {
          device: 'd1',
          metric: 'temperature',
          windowStart: ts,
          windowEnd: ts + 60_000,
          count: 3,
          min: 1,
          max: 3,
          mean: 2,
          last: 3,
        },
      })
      s.write({ kind: 'alert', alert: alert(ts, h % 2 === 0 ? 'raised' : 'cleared') })
      s.write({ kind: 'dead-letter', deadLetter: deadLetter(Buffer.from('x'), ts) })
    }
    s.flush()
    const result = await s.retain(T0 + 48 * HOUR)
    expect(result.deleted).toEqual({
      readings: 24,
      aggregates: 24,
      dead_letters: 24,
      alert_events: 24,
    })
    expect(s.counts()).toMatchObject({
      readings: 24,
      aggregates: 24,
      alertEvents: 24,
      deadLetters: 24,
    })
    const oldest = firstOf(s.readings(0, Number.MAX_SAFE_INTEGER))
    expect(oldest?.ts).toBe(T0 + 24 * HOUR)
  })

  it('keeps the file under its size cap while readings are written continuously', async () => {
    const cap = 2 * 1024 * 1024
    const t = tempStore({ maxSizeBytes: cap })
    cleanups.push(t.cleanup)
    let maxDb = 0
    let maxWithWal = 0
    const total = 200_000
    for (let i = 0; i < total; i += 500) {
      for (let k = 0; k < 500; k++) {
        t.store.write(readingItem({ reading: reading(`d${k % 50}`, T0 + i + k, (i + k) / 3) }))
      }
      t.store.flush()
      if (i % 20_000 === 0) await t.store.retain()
      // Lets the retention the store started itself run between batches, as in the daemon.
      await new Promise((r) => setImmediate(r))
      maxDb = Math.max(maxDb, statSync(t.file).size)
      maxWithWal = Math.max(maxWithWal, t.store.fileBytes())
    }
    await t.store.retain()
    // Stated margins: the main file within 5 % of the cap; the WAL adds at most about
    // 1.1 MiB (1000 pages of 1 KiB before a checkpoint) on top.
    expect(maxDb).toBeLessThanOrEqual(cap * 1.05)
    expect(maxWithWal).toBeLessThanOrEqual(cap * 1.05 + 1.15 * 1024 * 1024)
    const kept = t.store.counts().readings
    expect(kept).toBeGreaterThan(10_000)
    expect(kept).toBeLessThan(total)
    // Oldest first: what is left is the newest, without gaps.
    const first = firstOf(t.store.readings(0, Number.MAX_SAFE_INTEGER))
    expect(first?.ts).toBe(T0 + total - kept)
  })
})
