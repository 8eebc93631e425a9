import { afterEach, describe, expect, it } from 'vitest'
import type { AlertEvent } from '../../src/gateway/reading.js'
import { openStore } from '../../src/store/index.js'
import { deadLetter, reading, readingItem, T0, tempStore } from './fixtures.js'

let cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups) c()
  cleanups = []
})

function alert(rule: string, state: AlertEvent['state'], ts: number): AlertEvent {
  return {
    gateway: 'gw',
    device: 'd1',
    metric: rule === 'stale' ? undefined : 'temperature',
    rule,
    kind: rule === 'stale' ? 'stale' : 'high',
    severity: 'critical',
    state,
    value: rule === 'stale' ? undefined : 35,
    threshold: rule === 'stale' ? undefined : 30,
    ts,
    since: T0,
  }
}

describe('queries', () => {
  it('latest reading per device and metric, also after a restart', () => {
    const t = tempStore()
    cleanups.push(t.cleanup)
    t.store.write(readingItem({ reading: reading('a', T0 + 2, 2) }))
    t.store.write(readingItem({ reading: reading('a', T0 + 1, 1) }))
    t.store.write(readingItem({ reading: reading('b', T0, 5, 'humidity') }))
    t.store.flush()
    t.store.write(readingItem({ reading: reading('a', T0 + 1, 1) }))
    t.store.flush()
    expect(t.store.latestReadings()).toEqual([
      { device: 'a', metric: 'temperature', ts: T0 + 2, value: 2 },
      { device: 'b', metric: 'humidity', ts: T0, value: 5 },
    ])
  })

  it('active alerts survive a restart; a clear removes one; history keeps both events', () => {
    const t = tempStore()
    cleanups.push(t.cleanup)
    t.store.write({ kind: 'alert', alert: alert('too-hot', 'raised', T0) })
    t.store.write({ kind: 'alert', alert: alert('stale', 'raised', T0 + 1) })
    t.store.write({ kind: 'alert', alert: alert('too-hot', 'cleared', T0 + 2) })
    t.store.close()
    const reopened = openStore({ file: t.file })
    cleanups.unshift(() => reopened.close())
    expect(reopened.activeAlerts()).toEqual([
      {
        gateway: 'gw',
        device: 'd1',
        metric: undefined,
        rule: 'stale',
        kind: 'stale',
        severity: 'critical',
        value: undefined,
        threshold: undefined,
        since: T0,
        ts: T0 + 1,
      },
    ])
    const history = [...reopened.alertHistory(T0, T0 + 10)]
    expect(history.map((h) => `${h.rule}:${h.state}`)).toEqual([
      'too-hot:raised',
      'stale:raised',
      'too-hot:cleared',
    ])
  })

  it('streams a time range, filtered by device, and aggregates', () => {
    const t = tempStore()
    cleanups.push(t.cleanup)
    for (let i = 0; i < 1000; i++) {
      t.store.write(readingItem({ reading: reading(`d${i % 4}`, T0 + i, i) }))
    }
    t.store.write({
      kind: 'aggregate',
      aggregate: {
        device: 'd1',
        metric: 'temperature',
        windowStart: T0,
        windowEnd: T0 + 60_000,
        count: 2,
        min: 1,
        max: 5,
        mean: 3,
        last: 5,
      },
    })
    t.store.flush()
    const it = t.store.readings(T0 + 100, T0 + 200, { device: 'd1' })
    const rows = [...it]
    expect(rows).toHaveLength(25)
    expect(rows.every((r) => r.device === 'd1' && r.ts >= T0 + 100 && r.ts < T0 + 200)).toBe(true)
    expect([...t.store.aggregates(T0, T0 + 1)]).toEqual([
      {
        device: 'd1',
        metric: 'temperature',
        windowStart: T0,
        windowEnd: T0 + 60_000,
        count: 2,
        min: 1,
        max: 5,
        mean: 3,
        last: 5,
      },
    ])
  })

  it('truncates dead-letter payloads to the bound', () => {
    const t = tempStore()
    cleanups.push(t.cleanup)
    t.store.write({ kind: 'dead-letter', deadLetter: deadLetter(Buffer.alloc(1024 * 1024, 7)) })
    t.store.flush()
    const row = t.store.database
      .prepare('SELECT length(payload) AS n, reason FROM dead_letters')
      .get()
    expect(row).toEqual({ n: 4096, reason: 'not-json' })
    expect(t.store.counts().deadLetters).toBe(1)
  })
})

describe('a read-only store beside the writer', () => {
  it('streams rows the daemon committed while the daemon keeps writing', () => {
    const t = tempStore()
    cleanups.push(t.cleanup)
    for (let i = 0; i < 100; i++) t.store.write(readingItem({ reading: reading('d1', T0 + i) }))
    t.store.flush()
    const reader = openStore({ file: t.file, readonly: true })
    cleanups.unshift(() => reader.close())
    let n = 0
    for (const r of reader.readings(T0, T0 + 1000)) {
      if (n === 0) {
        t.store.write(readingItem({ reading: reading('d1', T0 + 500) }))
        t.store.flush()
      }
      expect(r.device).toBe('d1')
      n++
    }
    expect(n).toBeGreaterThanOrEqual(100)
    expect(reader.counts().readings).toBe(101)
    expect(reader.health().ok).toBe(true)
  })
})
