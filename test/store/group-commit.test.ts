import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { reading, readingItem, T0, tempStore, writeAndWait } from './fixtures.js'

let cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups) c()
  cleanups = []
})

describe('group commit', () => {
  it('fires each callback after COMMIT: another connection already sees the row', async () => {
    const t = tempStore({ batchMaxRows: 1000, batchMaxDelayMs: 20 })
    cleanups.push(t.cleanup)
    const other = new Database(t.file, { readonly: true })
    cleanups.unshift(() => other.close())
    const count = other.prepare('SELECT count(*) AS n FROM readings')
    const seenAtCallback: number[] = []
    const done = Array.from(
      { length: 50 },
      (_, i) =>
        new Promise<void>((resolve, reject) =>
          t.store.write(readingItem({ reading: reading('d1', T0 + i) }), (err) => {
            if (err) reject(err)
            seenAtCallback.push((count.get() as { n: number }).n)
            resolve()
          }),
        ),
    )
    // Nothing is durable (or visible elsewhere) before the batch commits.
    expect((count.get() as { n: number }).n).toBe(0)
    await Promise.all(done)
    expect(seenAtCallback).toHaveLength(50)
    expect(Math.min(...seenAtCallback)).toBe(50)
    expect(t.store.stats().batches).toBe(1)
  })

  it('commits at maxRows without waiting for maxDelayMs', async () => {
    const t = tempStore({ batchMaxRows: 10, batchMaxDelayMs: 60_000 })
    cleanups.push(t.cleanup)
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        writeAndWait(t.store, readingItem({ reading: reading('d1', T0 + i) })),
      ),
    )
    expect(results.every((r) => r === null)).toBe(true)
    expect(t.store.stats().rowsWritten.reading).toBe(10)
  })

  it('commits a lone write after maxDelayMs', async () => {
    const t = tempStore({ batchMaxRows: 500, batchMaxDelayMs: 30 })
    cleanups.push(t.cleanup)
    expect(await writeAndWait(t.store, readingItem({ reading: reading('d1', T0) }))).toBeNull()
    expect(t.store.counts().readings).toBe(1)
  })

  it('a write nobody waits for waits the relaxed delay; a prompt write cuts it short', async () => {
    const t = tempStore({ batchMaxRows: 500, batchMaxDelayMs: 30, batchRelaxedDelayMs: 600_000 })
    cleanups.push(t.cleanup)
    const relaxed = new Promise<Error | null>((resolve) =>
      t.store.write(readingItem({ reading: reading('d1', T0) }), resolve, 'later'),
    )
    // Not committed by the 30 ms timer: an uncommitted relaxed write is still pending
    // after a commit of another store with the same delay would have happened.
    const other = tempStore({ batchMaxRows: 500, batchMaxDelayMs: 30 })
    cleanups.push(other.cleanup)
    await writeAndWait(other.store, readingItem({ reading: reading('d2', T0) }))
    await writeAndWait(other.store, readingItem({ reading: reading('d2', T0 + 1) }))
    expect(t.store.stats().batches).toBe(0)
    // A QoS 1 reading arrives: both commit within its 30 ms, in one batch.
    const prompt = writeAndWait(t.store, readingItem({ reading: reading('d1', T0 + 1) }))
    expect(await Promise.all([relaxed, prompt])).toEqual([null, null])
    expect(t.store.stats().batches).toBe(1)
    expect(t.store.counts().readings).toBe(2)
  })

  it('flush() and close() commit everything pending before returning', () => {
    const t = tempStore({ batchMaxRows: 500, batchMaxDelayMs: 60_000 })
    const calls: (Error | null)[] = []
    for (let i = 0; i < 7; i++) {
      t.store.write(readingItem({ reading: reading('d1', T0 + i) }), (e) => calls.push(e))
    }
    t.store.flush()
    expect(calls).toEqual(Array(7).fill(null))
    t.store.write(readingItem({ reading: reading('d1', T0 + 100) }), (e) => calls.push(e))
    t.cleanup()
    expect(calls).toHaveLength(8)
  })

  it('stores a redelivered reading once and counts the duplicate, without its outbox row; another value at the same ts is kept', () => {
    const t = tempStore()
    cleanups.push(t.cleanup)
    const outbox = [{ stream: 'readings', topic: 'up/d1', payload: '{"t":21.5}' }] as const
    t.store.write(readingItem({ reading: reading('d1', T0), outbox }))
    t.store.write(readingItem({ reading: reading('d1', T0), outbox }))
    t.store.flush()
    t.store.write(readingItem({ reading: reading('d1', T0, 99), outbox }))
    t.store.write(readingItem({ reading: reading('d1', T0, 21.5, 'humidity'), outbox }))
    t.store.flush()
    expect(t.store.counts().readings).toBe(3)
    expect(t.store.stats().duplicates).toBe(1)
    expect(t.store.outboxStats().rows).toBe(3)
    const stored = [...t.store.readings(T0, T0 + 1)]
    expect(stored).toEqual([
      { device: 'd1', metric: 'temperature', ts: T0, value: 21.5, receivedAt: T0 + 3 },
      { device: 'd1', metric: 'temperature', ts: T0, value: 99, receivedAt: T0 + 3 },
      { device: 'd1', metric: 'humidity', ts: T0, value: 21.5, receivedAt: T0 + 3 },
    ])
  })

  it('an item the database refuses fails alone; the rest of its batch is stored', () => {
    const t = tempStore()
    cleanups.push(t.cleanup)
    const calls: (Error | null)[] = []
    t.store.write(readingItem({ reading: reading('d1', T0) }), (e) => calls.push(e))
    // A missing device binds as NULL: series.device NOT NULL refuses it (a bug upstream).
    const bad = { ...reading('d1', T0 + 1), device: undefined as unknown as string }
    t.store.write(readingItem({ reading: bad }), (e) => calls.push(e))
    t.store.write(readingItem({ reading: reading('d1', T0 + 2) }), (e) => calls.push(e))
    t.store.flush()
    expect(calls[0]).toBeNull()
    expect(calls[1]).toBeInstanceOf(Error)
    expect(calls[2]).toBeNull()
    expect(t.store.counts().readings).toBe(2)
    expect(t.store.health().ok).toBe(true)
  })
})
