import { expect, it } from 'vitest'
import { silentLog } from '../../src/ops/log.js'
import { reading, readingItem, T0, tempStore } from './fixtures.js'

/**
 * With the upstream gone for days every batch drops outbox rows: one log line per batch
 * would wear the SD card through journald. The lines are spaced, and add up.
 */
it('logs outbox drops at most once per interval, each line carrying the drops since the last', () => {
  const lines: {
    obj: Record<string, number> & { uplinks?: Record<string, number> }
    msg: string
  }[] = []
  const logger = {
    ...silentLog,
    warn: (obj: object, msg: string) => {
      lines.push({ obj: obj as Record<string, number>, msg })
    },
  }
  const t = tempStore({ logger, outbox: { maxBytes: 2_000, dropPolicy: 'drop-oldest' } })
  try {
    for (let batch = 0; batch < 20; batch++) {
      for (let i = 0; i < 50; i++) {
        const n = batch * 50 + i
        t.store.write(
          readingItem({
            reading: reading('d1', T0 + n),
            outbox: [{ stream: 'readings', topic: 'up/x', payload: `${n}`.padEnd(90, '.') }],
          }),
        )
      }
      t.store.flush()
    }
    const dropped = t.store.outboxStats().dropped['drop-oldest']
    expect(dropped).toBeGreaterThan(900)
    // 20 batches dropped rows in (much) less than a few intervals: a line or two, not 20.
    const before = lines.length
    expect(before).toBeGreaterThanOrEqual(1)
    expect(before).toBeLessThanOrEqual(4)
    t.store.close() // what is pending is logged at close
    expect(lines.length).toBeLessThanOrEqual(before + 1)
    expect(lines.reduce((sum, l) => sum + (l.obj['drop-oldest'] ?? 0), 0)).toBe(dropped)
    // The line names the uplink whose queue dropped them, and the keys to look at.
    expect(lines[0]!.msg).toMatch(
      /^store: dropped \d+ queued rows of uplink default: .*maxBufferMB/,
    )
    expect(lines.reduce((sum, l) => sum + (l.obj.uplinks?.default ?? 0), 0)).toBe(dropped)
  } finally {
    t.cleanup()
  }
})

it('names the uplink whose queue dropped rows when there are several', () => {
  const lines: { obj: { uplinks?: Record<string, number> }; msg: string }[] = []
  const logger = {
    ...silentLog,
    warn: (obj: object, msg: string) => {
      lines.push({ obj: obj as { uplinks?: Record<string, number> }, msg })
    },
  }
  const t = tempStore({
    logger,
    outboxes: [
      { id: 'cloud', maxBytes: 1_000_000 },
      { id: 'tsdb', maxBytes: 2_000, dropPolicy: 'reject-new' },
    ],
  })
  try {
    for (let n = 0; n < 100; n++) {
      t.store.write(
        readingItem({
          reading: reading('d1', T0 + n),
          outbox: [{ stream: 'readings', topic: 'up/x', payload: `${n}`.padEnd(90, '.') }],
        }),
      )
    }
    t.store.flush()
    const refused = t.store.outboxStats().dropped['reject-new']
    t.store.close() // what is pending is logged at close
    expect(refused).toBeGreaterThan(0)
    expect(lines.map((l) => l.obj.uplinks)).toEqual([{ tsdb: refused }])
    expect(lines[0]!.msg).toMatch(/of uplink tsdb:/)
  } finally {
    t.cleanup()
  }
})
