import { afterEach, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/store.js'
import { reading, readingItem, T0, tempStore } from './fixtures.js'

let cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups) c()
  cleanups = []
})

describe('store.hasReading', () => {
  it('knows stored readings older than, equal to and pending beside the newest of a series', () => {
    const t = tempStore({ batchMaxRows: 1000, batchMaxDelayMs: 60_000 })
    cleanups.push(t.cleanup)
    for (const ts of [T0, T0 + 10]) t.store.write(readingItem({ reading: reading('d1', ts) }))
    t.store.flush()
    // answered from the newest-per-series shortcut, and from the table below it
    expect(t.store.hasReading(reading('d1', T0 + 20))).toBe(false)
    expect(t.store.hasReading(reading('d1', T0 + 10))).toBe(true)
    expect(t.store.hasReading(reading('d1', T0))).toBe(true)
    expect(t.store.hasReading(reading('d1', T0 + 5))).toBe(false)
    expect(t.store.hasReading(reading('d1', T0, 99))).toBe(false) // same time, other value
    // the shortcut follows later commits (T0 + 30 is stored, then older than T0 + 40)
    t.store.write(readingItem({ reading: reading('d1', T0 + 30) }))
    expect(t.store.hasReading(reading('d1', T0 + 30))).toBe(true) // pending
    t.store.flush()
    t.store.write(readingItem({ reading: reading('d1', T0 + 40) }))
    t.store.flush()
    expect(t.store.hasReading(reading('d1', T0 + 30))).toBe(true)
    expect(t.store.hasReading(reading('d1', T0 + 41))).toBe(false)
  })

  it('after a restart, knows what was stored before it (newest per series from `latest`)', () => {
    const t = tempStore({ batchMaxRows: 1000, batchMaxDelayMs: 60_000 })
    cleanups.push(t.cleanup)
    for (const ts of [T0, T0 + 10]) t.store.write(readingItem({ reading: reading('d1', ts) }))
    t.store.close()
    const again = openStore({ file: t.file })
    cleanups.unshift(() => again.close())
    expect(again.hasReading(reading('d1', T0))).toBe(true)
    expect(again.hasReading(reading('d1', T0 + 10))).toBe(true)
    expect(again.hasReading(reading('d1', T0 + 11))).toBe(false)
  })
})
