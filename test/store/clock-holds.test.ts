/**
 * What the store does while the daemon's clock cannot be trusted (src/ops/clock-sanity.ts):
 * the outbox TTL and age retention wait, size retention does not; and the newest receive
 * time it reports at start, which the clock is checked against.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { OutboxEntry } from '../../src/store/index.js'
import { deadLetter, reading, readingItem, T0, tempStore } from './fixtures.js'

let cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups) c()
  cleanups = []
})

const DAY = 86_400_000

function entry(i: number): OutboxEntry {
  return { stream: 'readings', topic: `up/${i}`, payload: `${i}` }
}

describe('store while the clock is insane', () => {
  it('the outbox TTL is held: old rows stay until the clock is sane again', () => {
    let now = T0
    let sane = true
    const t = tempStore({ now: () => now, clockSane: () => sane, outbox: { ttlMs: 60_000 } })
    cleanups.push(t.cleanup)
    for (let i = 0; i < 10; i++)
      t.store.write(readingItem({ reading: reading('d1', T0 + i), outbox: [entry(i)] }))
    t.store.flush()
    now += DAY
    sane = false
    t.store.write(readingItem({ reading: reading('d1', T0 + 10), outbox: [entry(10)] }))
    t.store.flush()
    expect(t.store.outboxStats()).toMatchObject({ rows: 11, dropped: { ttl: 0 } })
    sane = true
    t.store.write(readingItem({ reading: reading('d1', T0 + 11), outbox: [entry(11)] }))
    t.store.flush()
    // The ten written a day earlier expire; the one written while insane is a day younger.
    expect(t.store.outboxStats()).toMatchObject({ rows: 2, dropped: { ttl: 10 } })
  })

  it('age retention is held', async () => {
    let sane = false
    const t = tempStore({ maxAgeMs: DAY, clockSane: () => sane })
    cleanups.push(t.cleanup)
    for (let h = 0; h < 48; h++) {
      t.store.write(readingItem({ reading: reading('d1', T0 + h * 3_600_000) }))
    }
    t.store.flush()
    const held = await t.store.retain(T0 + 2 * DAY)
    expect(held.deleted).toEqual({})
    expect(t.store.counts().readings).toBe(48)
    sane = true
    const run = await t.store.retain(T0 + 2 * DAY)
    expect(run.deleted.readings).toBe(24)
  })

  it('size retention still runs: a full disk does not wait for the clock', async () => {
    const cap = 256 * 1024
    const t = tempStore({ maxSizeBytes: cap, maxAgeMs: DAY, clockSane: () => false })
    cleanups.push(t.cleanup)
    for (let i = 0; i < 20_000; i++) {
      t.store.write(readingItem({ reading: reading(`d${i % 20}`, T0 + i, i / 3) }))
    }
    t.store.flush()
    const r = await t.store.retain(T0 + 30 * DAY)
    expect(r.deleted.readings).toBeGreaterThan(0)
    expect(t.store.counts().readings).toBeLessThan(20_000)
  })

  it('reports the newest receive time of readings and dead letters, not sensor time', () => {
    const t = tempStore()
    cleanups.push(t.cleanup)
    expect(t.store.newestReceivedAt()).toBeUndefined()
    // Sensor time an hour ahead of its receive time: the receive time counts.
    t.store.write(
      readingItem({
        reading: { ...reading('d1', T0 + 3_600_000), receivedAt: T0 },
      }),
    )
    t.store.flush()
    expect(t.store.newestReceivedAt()).toBe(T0)
    t.store.write({ kind: 'dead-letter', deadLetter: deadLetter(Buffer.from('x'), T0 + 5000) })
    t.store.flush()
    expect(t.store.newestReceivedAt()).toBe(T0 + 5000)
  })
})
