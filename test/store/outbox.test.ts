import { afterEach, describe, expect, it } from 'vitest'
import { type OutboxEntry, openStore } from '../../src/store/index.js'
import { reading, readingItem, T0, tempStore } from './fixtures.js'

let cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups) c()
  cleanups = []
})

/** topic (8 bytes) + payload (92 bytes) = 100 bytes per row. */
function entry(i: number): OutboxEntry {
  return {
    stream: 'readings',
    topic: `up/${String(i % 10_000).padStart(5, '0')}`,
    payload: `${i}`.padEnd(92, '.'),
  }
}

function writeMany(store: ReturnType<typeof tempStore>['store'], from: number, n: number) {
  for (let i = from; i < from + n; i++) {
    store.write(readingItem({ reading: reading('d1', T0 + i), outbox: [entry(i)] }))
  }
  store.flush()
}

function outboxIds(db: ReturnType<typeof tempStore>['store']['database']): string[] {
  return (db.prepare('SELECT payload FROM outbox ORDER BY id').all() as { payload: Buffer }[]).map(
    (r) => r.payload.toString().replace(/\.+$/, ''),
  )
}

describe('outbox cap', () => {
  it('drop-oldest keeps the newest rows under the cap and counts what it dropped', () => {
    const t = tempStore({ outbox: { maxBytes: 5_000, dropPolicy: 'drop-oldest' } })
    cleanups.push(t.cleanup)
    writeMany(t.store, 0, 120)
    const s = t.store.outboxStats()
    expect(s.bytes).toBeLessThanOrEqual(5_000)
    expect(s.rows).toBe(50)
    expect(s.dropped['drop-oldest']).toBe(70)
    expect(s.dropped['reject-new']).toBe(0)
    expect(outboxIds(t.store.database)).toEqual(Array.from({ length: 50 }, (_, i) => `${70 + i}`))
    // Every reading is still stored: the cap bounds only what waits for the uplink.
    expect(t.store.counts().readings).toBe(120)
  })

  it('reject-new keeps the oldest rows and counts the refused ones', () => {
    const t = tempStore({ outbox: { maxBytes: 5_000, dropPolicy: 'reject-new' } })
    cleanups.push(t.cleanup)
    writeMany(t.store, 0, 120)
    const s = t.store.outboxStats()
    expect(s.rows).toBe(50)
    expect(s.dropped['reject-new']).toBe(70)
    expect(outboxIds(t.store.database)).toEqual(Array.from({ length: 50 }, (_, i) => `${i}`))
  })

  it('keeps its running size exact when the forwarder deletes through the same connection', () => {
    const t = tempStore({ outbox: { maxBytes: 5_000, dropPolicy: 'reject-new' } })
    cleanups.push(t.cleanup)
    writeMany(t.store, 0, 50)
    expect(t.store.outboxStats().rows).toBe(50)
    // What the uplink does after PUBACKs.
    t.store.database
      .prepare('DELETE FROM outbox WHERE id <= (SELECT min(id) + 19 FROM outbox)')
      .run()
    expect(t.store.outboxStats()).toMatchObject({ rows: 30, bytes: 3_000 })
    writeMany(t.store, 50, 30)
    expect(t.store.outboxStats()).toMatchObject({ rows: 50, bytes: 5_000 })
    expect(t.store.outboxStats().dropped['reject-new']).toBe(10)
  })

  it('initialises its running size from the table at open', () => {
    const t = tempStore()
    writeMany(t.store, 0, 10)
    t.store.close()
    const reopened = openStore({ file: t.file })
    expect(reopened.outboxStats()).toMatchObject({
      rows: 10,
      bytes: 1_000,
      oldestCreatedAt: expect.any(Number),
    })
    reopened.close()
    t.cleanup()
  })

  it('TTL 0 (uplink.ttlHours: 0, "keep them") keeps every row', () => {
    let now = T0
    const t = tempStore({ now: () => now, outbox: { ttlMs: 0 } })
    cleanups.push(t.cleanup)
    writeMany(t.store, 0, 10)
    now += 86_400_000
    writeMany(t.store, 10, 10)
    const s = t.store.outboxStats()
    expect(s.dropped.ttl).toBe(0)
    expect(s.rows).toBe(20)
  })

  it('TTL: rows older than ttlMs are deleted when new rows arrive, and counted', () => {
    let now = T0
    const t = tempStore({ now: () => now, outbox: { ttlMs: 60_000 } })
    cleanups.push(t.cleanup)
    writeMany(t.store, 0, 10)
    now += 30_000
    writeMany(t.store, 10, 10)
    now += 40_000 // the first ten are now 70 s old, the next ten 40 s
    writeMany(t.store, 20, 1)
    const s = t.store.outboxStats()
    expect(s.dropped.ttl).toBe(10)
    expect(s.rows).toBe(11)
    expect(s.oldestCreatedAt).toBe(T0 + 30_000)
  })

  it('rolls back drops with the batch: a failed batch counts nothing', () => {
    const t = tempStore({
      outbox: { maxBytes: 1_000, dropPolicy: 'drop-oldest' },
      retryDelayMs: 60_000,
    })
    cleanups.push(t.cleanup)
    writeMany(t.store, 0, 10)
    const pages = t.store.database.pragma('page_count', { simple: true }) as number
    t.store.database.pragma(`max_page_count = ${pages}`)
    // The first item drops the oldest outbox rows; the readings after it need new pages.
    t.store.write(
      readingItem({
        reading: reading('d2', T0),
        outbox: [{ stream: 'readings', topic: 't', payload: 'x'.repeat(900) }],
      }),
    )
    for (let i = 1; i < 5_000; i++) t.store.write(readingItem({ reading: reading('d2', T0 + i) }))
    t.store.flush()
    expect(t.store.health().ok).toBe(false)
    expect(t.store.outboxStats().dropped['drop-oldest']).toBe(0)
    expect(t.store.outboxStats().rows).toBe(10)
  })
})
