/**
 * ClockSanity with injected clocks: what a Pi without an RTC goes through (boot at 1970,
 * time sync steps the clock later), which a test cannot do to the machine's own clock.
 * The daemon test (test/daemon/clock-sanity.test.ts) shows the same through the real
 * daemon with a database that holds a receive time ahead of the clock.
 */
import { describe, expect, it } from 'vitest'
import { CLOCK_TOLERANCE_MS, ClockSanity } from '../../src/ops/clock-sanity.js'
import type { Log } from '../../src/ops/log.js'

const BUILD = Date.parse('2026-11-20T00:00:00Z')
const STORED = Date.parse('2026-12-01T10:00:00Z')
const BOOT = 5_000 // 1970-01-01T00:00:05Z: a Pi without an RTC before time sync

interface Line {
  readonly level: string
  readonly fields: Record<string, unknown>
  readonly msg: string
}

function recorder(): { log: Log; lines: Line[] } {
  const lines: Line[] = []
  const at = (level: string) => (fields: object, msg: string) =>
    lines.push({ level, fields: fields as Record<string, unknown>, msg })
  return {
    lines,
    log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  }
}

/** A settable system clock and a monotonic one that only moves forward. */
function clocks(wall: number) {
  const c = { wall, mono: 0 }
  return {
    c,
    wall: () => c.wall,
    mono: () => c.mono,
    /** Real time passes: both clocks move. */
    pass(ms: number) {
      c.wall += ms
      c.mono += ms
    },
  }
}

function guard(wall: number, stored: number | null = STORED) {
  const k = clocks(wall)
  const { log, lines } = recorder()
  const refs = [{ at: BUILD, what: 'the build date' }]
  if (stored !== null) refs.push({ at: stored, what: 'the newest stored receive time' })
  const clock = new ClockSanity({ references: refs, wall: k.wall, mono: k.mono, log })
  return { clock, lines, ...k }
}

describe('ClockSanity', () => {
  it('a clock at 1970 is insane, and the check says why and what to do', async () => {
    const { clock } = guard(BOOT)
    expect(clock.sane()).toBe(false)
    const r = await clock.check()()
    expect(r.ok).toBe(false)
    expect(r).toMatchObject({
      reason: expect.stringContaining(
        'system clock is 1970-01-01T00:00:05.000Z, before the newest stored receive time 2026-12-01T10:00:00.000Z; is time sync running? (systemd-timesyncd / chrony',
      ),
    })
  })

  it('a clock before the build date is insane on an empty database', async () => {
    const { clock } = guard(BUILD - 86_400_000, null)
    expect(clock.sane()).toBe(false)
    const r = await clock.check()()
    expect(r).toMatchObject({ ok: false, reason: expect.stringContaining('before the build date') })
  })

  it('a clock past every reference is sane; a little behind one (a sync correction) too', async () => {
    expect(guard(STORED + 60_000).clock.sane()).toBe(true)
    expect(guard(STORED - CLOCK_TOLERANCE_MS + 1).clock.sane()).toBe(true)
    expect(guard(STORED - CLOCK_TOLERANCE_MS - 1).clock.sane()).toBe(false)
    const r = await guard(STORED + 60_000).clock.check()()
    expect(r).toMatchObject({ ok: true, detail: expect.stringContaining('not before') })
  })

  it('while insane, stamps are the earliest the real time can be: the reference plus monotonic time elapsed', () => {
    const k = guard(BOOT)
    expect(k.clock.now()).toBe(STORED)
    k.pass(1500)
    expect(k.clock.receiveTime()).toBe(STORED + 1500)
    k.pass(1)
    expect(k.clock.receiveTime()).toBe(STORED + 1501) // receive order kept
  })

  it('recovers when time sync steps the clock past the reference: logs once each way, calls the recovery hooks', () => {
    const k = guard(BOOT)
    const recovered: number[] = []
    k.clock.onRecovered((now) => recovered.push(now))
    k.clock.sane()
    k.clock.receiveTime()
    k.clock.receiveTime()
    expect(k.lines.map((l) => l.level)).toEqual(['warn'])
    expect(k.lines[0]?.msg).toMatch(/^system clock is 1970-01-01T00:00:05\.000Z, before/)
    for (let i = 0; i < 100; i++) k.clock.sane() // asked often, logged once
    expect(k.lines).toHaveLength(1)

    k.pass(30_000)
    k.c.wall = STORED + 4 * 86_400_000 // the Pi was off for four days
    expect(k.clock.sane()).toBe(true)
    expect(recovered).toEqual([STORED + 4 * 86_400_000])
    expect(k.clock.now()).toBe(STORED + 4 * 86_400_000)
    expect(k.lines.map((l) => l.level)).toEqual(['warn', 'info'])
    expect(k.lines[1]?.msg).toMatch(/^system clock is sane again/)
    expect(k.lines[1]?.fields).toMatchObject({ estimatedTimes: 2, insaneSeconds: 30 })
    for (let i = 0; i < 100; i++) k.clock.sane()
    expect(k.lines).toHaveLength(2)
  })

  it('a clock stepped back below a time it already read is insane again, until it catches up', async () => {
    const k = guard(STORED + 1000)
    expect(k.clock.sane()).toBe(true)
    k.c.wall -= 3_600_000 // stepped back an hour
    expect(k.clock.sane()).toBe(false)
    const r = await k.clock.check()()
    expect(r).toMatchObject({
      ok: false,
      reason: expect.stringContaining('a time this daemon already read from it'),
    })
    k.pass(3_600_000)
    expect(k.clock.sane()).toBe(true)
  })

  it('a clock flapping at the limit costs one line a minute, and the log ends on the state it is in', () => {
    const k = guard(STORED + 1000)
    k.clock.sane()
    for (let i = 0; i < 20; i++) {
      k.c.wall = STORED - 60_000 // insane
      k.clock.sane()
      k.c.mono += 100
      k.c.wall = STORED + 1000 // sane
      k.clock.sane()
      k.c.mono += 100
    }
    // The first spell is logged both ways; the rest (4 s of flapping) only counted.
    expect(k.lines.map((l) => l.level)).toEqual(['warn', 'info'])
    k.c.wall = STORED - 60_000
    k.c.mono += 60_000
    expect(k.clock.sane()).toBe(false)
    expect(k.lines.map((l) => l.level)).toEqual(['warn', 'info', 'warn'])
    expect(k.lines[2]?.fields.unloggedTransitions).toBeGreaterThan(30)
  })
})
