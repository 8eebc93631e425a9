import { describe, expect, it } from 'vitest'
import { AlertRules } from '../../src/gateway/alert-rules.js'
import type { AlertEvent, Reading } from '../../src/gateway/reading.js'
import type { RuleConfig } from '../../src/gateway/rule-spec.js'
import { device, directory, reading, rule, seeded } from './fixtures.js'

const T0 = 1_772_366_400_000

function engine(rules: RuleConfig[], devices = [device('d1', 'sht31')]) {
  return new AlertRules({ gateway: 'gw', rules, devices: directory(devices), now: T0 })
}

function feed(rules: AlertRules, readings: Reading[]): AlertEvent[] {
  return readings.flatMap((r) => rules.evaluate(r))
}

/** One reading per second, values from `f(i)`. */
function series(n: number, f: (i: number) => number, start = T0, device = 'd1'): Reading[] {
  return Array.from({ length: n }, (_, i) => reading(device, f(i), start + i * 1000))
}

describe('AlertRules: high/low thresholds', () => {
  it('does not flap on a noisy signal hovering at the threshold: one raise, one clear', () => {
    const rules = engine([rule({ id: 'hot', metric: 'temperature', high: 30, hysteresis: 1 })])
    const noise = seeded(42)
    const hovering = series(600, (i) => 30 + 0.4 * Math.sin(i / 7) + (noise() - 0.5) * 0.8)
    const cooling = series(30, (i) => 28.5 - i * 0.1, T0 + 600_000)
    const events = feed(rules, [
      ...series(20, () => 25),
      ...hovering.map((r) => ({ ...r, ts: r.ts + 20_000, receivedAt: r.receivedAt + 20_000 })),
      ...cooling,
    ])
    // The signal crosses 30 dozens of times...
    expect(
      hovering.filter((r, i) => i > 0 && r.value > 30 !== hovering[i - 1]!.value > 30).length,
    ).toBeGreaterThan(20)
    // ...but only one raise and one clear come out.
    expect(events.map((e) => e.state)).toEqual(['raised', 'cleared'])
    expect(events[0]).toMatchObject({
      gateway: 'gw',
      device: 'd1',
      metric: 'temperature',
      rule: 'hot',
      kind: 'high',
      severity: 'warning',
      threshold: 30,
    })
    expect(events[1]!.value).toBeLessThan(29)
    expect(events[1]!.since).toBe(events[0]!.ts)
  })

  it('waits forSeconds of continuous excess before raising', () => {
    const rules = engine([rule({ id: 'hot', metric: 'temperature', high: 30, forSeconds: 10 })])
    // 8 s above, a dip, then 12 s above: only the second run raises, 10 s after it began.
    const dip = [
      ...series(8, () => 31),
      reading('d1', 29, T0 + 8000),
      ...series(12, () => 31, T0 + 9000),
    ]
    const events = feed(rules, dip)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ state: 'raised', ts: T0 + 9000, since: T0 + 9000, value: 31 })
    expect(rules.activeAlerts().map((a) => a.rule)).toEqual(['hot'])
  })

  it('waits for count consecutive readings before raising (low rule)', () => {
    const rules = engine([
      rule({ id: 'frost', metric: 'temperature', low: 2, count: 3, severity: 'critical' }),
    ])
    expect(
      feed(
        rules,
        series(2, () => 1),
      ),
    ).toEqual([])
    expect(rules.evaluate(reading('d1', 5, T0 + 2000))).toEqual([])
    expect(
      feed(
        rules,
        series(2, () => 1, T0 + 3000),
      ),
    ).toEqual([])
    const [ev] = rules.evaluate(reading('d1', 1.5, T0 + 5000))
    expect(ev).toMatchObject({ state: 'raised', kind: 'low', severity: 'critical', value: 1.5 })
  })

  it('never re-raises an active alert and clears only past the hysteresis', () => {
    const rules = engine([rule({ id: 'hot', metric: 'temperature', high: 30, hysteresis: 2 })])
    expect(rules.evaluate(reading('d1', 31, T0))).toHaveLength(1)
    expect(
      feed(
        rules,
        series(50, (i) => 31 + (i % 5), T0 + 1000),
      ),
    ).toEqual([])
    expect(rules.evaluate(reading('d1', 28.5, T0 + 60_000))).toEqual([])
    expect(rules.evaluate(reading('d1', 27.9, T0 + 61_000))[0]).toMatchObject({
      state: 'cleared',
      value: 27.9,
      since: T0,
    })
  })

  it('ignores readings of other metrics and other devices', () => {
    const rules = engine(
      [rule({ id: 'hot', metric: 'temperature', high: 30 })],
      [device('d1', 'sht31'), device('d2', 'sht31')],
    )
    expect(rules.evaluate(reading('d1', 90, T0, 'humidity'))).toEqual([])
    expect(rules.evaluate(reading('d2', 31, T0))[0]).toMatchObject({ device: 'd2' })
    expect(rules.evaluate(reading('d1', 29, T0))).toEqual([])
  })
})

describe('AlertRules: overrides and filters', () => {
  it('applies per-device overrides and the enabled switch', () => {
    const rules = engine(
      [
        rule({ id: 'hot', metric: 'temperature', high: 30 }),
        rule({ id: 'frost', metric: 'temperature', low: 2 }),
      ],
      [
        device('freezer', 'ds18b20', {
          rules: { hot: { high: -12, severity: 'critical' }, frost: { enabled: false } },
        }),
        device('room', 'sht31'),
      ],
    )
    expect(rules.evaluate(reading('freezer', -18, T0))).toEqual([])
    expect(rules.evaluate(reading('freezer', -10, T0 + 1000))[0]).toMatchObject({
      rule: 'hot',
      threshold: -12,
      severity: 'critical',
    })
    expect(rules.evaluate(reading('room', -10, T0))[0]).toMatchObject({
      rule: 'frost',
      threshold: 2,
      severity: 'warning',
    })
  })

  it('limits rules to the listed devices and profiles', () => {
    const rules = engine(
      [
        rule({ id: 'probe-hot', metric: 'temperature', high: 10, profiles: ['ds18b20'] }),
        rule({ id: 'only-b', metric: 'temperature', high: 20, devices: ['b'] }),
      ],
      [device('a', 'ds18b20'), device('b', 'sht31')],
    )
    expect(rules.evaluate(reading('a', 25, T0)).map((e) => e.rule)).toEqual(['probe-hot'])
    expect(rules.evaluate(reading('b', 25, T0)).map((e) => e.rule)).toEqual(['only-b'])
  })
})

describe('AlertRules: rate of change', () => {
  it('raises on a jump of more than X per minute and clears when the rate settles', () => {
    const rules = engine([
      rule({ id: 'fast', metric: 'temperature', ratePerMinute: 5, hysteresis: 1 }),
    ])
    const noise = seeded(7)
    // Two minutes flat with noise: per-sample slopes reach ±24 °C/min, the measured rate does not.
    const calm = series(120, () => 20 + (noise() - 0.5) * 0.4)
    expect(feed(rules, calm)).toEqual([])
    const events = feed(
      rules,
      series(10, (i) => 20 + (i + 1) * 1.5, T0 + 120_000),
    )
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ state: 'raised', kind: 'rate', threshold: 5 })
    expect(events[0]!.value).toBeGreaterThan(5)
    const later = feed(
      rules,
      series(180, () => 35, T0 + 130_000),
    )
    expect(later.map((e) => e.state)).toEqual(['cleared'])
  })

  it('raises on a slow drift faster than the threshold and not on a slower one', () => {
    const slow = engine([rule({ id: 'fast', metric: 'temperature', ratePerMinute: 5 })])
    expect(
      feed(
        slow,
        series(300, (i) => 10 + (i / 60) * 4),
      ),
    ).toEqual([]) // 4 °C/min
    const fast = engine([rule({ id: 'fast', metric: 'temperature', ratePerMinute: 5 })])
    const ev = feed(
      fast,
      series(300, (i) => 10 + (i / 60) * 6),
    ) // 6 °C/min
    expect(ev).toHaveLength(1)
    expect(ev[0]!.value).toBeCloseTo(6, 6)
  })
})

describe('AlertRules: stale sensors', () => {
  it('raises when a device is quiet too long and clears on its next reading', () => {
    const rules = engine([rule({ id: 'silent', staleSeconds: 60, severity: 'critical' })])
    expect(rules.evaluate(reading('d1', 20, T0 + 10_000))).toEqual([])
    expect(rules.checkStale(T0 + 69_000)).toEqual([])
    const raised = rules.checkStale(T0 + 70_000)
    expect(raised).toEqual([
      {
        gateway: 'gw',
        device: 'd1',
        metric: undefined,
        rule: 'silent',
        kind: 'stale',
        severity: 'critical',
        state: 'raised',
        value: undefined,
        threshold: 60,
        ts: T0 + 70_000,
        since: T0 + 70_000,
      },
    ])
    expect(rules.checkStale(T0 + 200_000)).toEqual([])
    const cleared = rules.evaluate(reading('d1', 21, T0 + 210_000, 'humidity'))
    expect(cleared).toMatchObject([
      { state: 'cleared', rule: 'silent', since: T0 + 70_000, ts: T0 + 210_000 },
    ])
    expect(rules.checkStale(T0 + 260_000)).toEqual([])
    expect(rules.checkStale(T0 + 270_000)).toHaveLength(1)
  })

  it('counts configured devices that never spoke from the start time', () => {
    const rules = engine(
      [rule({ id: 'silent', staleSeconds: 30 })],
      [device('d1', 'sht31'), device('d2', 'sht31')],
    )
    rules.evaluate(reading('d2', 20, T0 + 20_000))
    expect(rules.checkStale(T0 + 30_000).map((e) => e.device)).toEqual(['d1'])
  })

  it('restartSilence (the clock was set) counts silence from then, not from lower-bound receive times', () => {
    const rules = engine([rule({ id: 'silent', staleSeconds: 60 })])
    rules.evaluate(reading('d1', 20, T0 + 10_000))
    // Time sync stepped the clock four days ahead: the reading above was not 4 days ago.
    const set = T0 + 4 * 86_400_000
    rules.restartSilence(set)
    expect(rules.checkStale(set + 59_000)).toEqual([])
    expect(rules.checkStale(set + 60_000)).toHaveLength(1)
  })

  it('watches one metric when the stale rule names it', () => {
    const rules = engine([rule({ id: 'no-humidity', metric: 'humidity', staleSeconds: 30 })])
    rules.evaluate(reading('d1', 20, T0 + 20_000))
    expect(rules.checkStale(T0 + 30_000)).toHaveLength(1)
  })
})

describe('AlertRules: restart', () => {
  it('does not re-raise seeded alerts, and clears them normally', () => {
    const cfg = [rule({ id: 'hot', metric: 'temperature', high: 30, hysteresis: 1 })]
    const before = engine(cfg)
    before.evaluate(reading('d1', 35, T0))
    const active = before.activeAlerts()
    expect(active).toMatchObject([{ rule: 'hot', state: 'raised', since: T0, value: 35 }])

    const after = engine(cfg)
    after.seed(active, T0 + 100_000)
    expect(after.evaluate(reading('d1', 36, T0 + 100_000))).toEqual([])
    expect(after.activeAlerts()).toMatchObject([{ rule: 'hot', since: T0 }])
    expect(after.evaluate(reading('d1', 20, T0 + 101_000))).toMatchObject([
      { state: 'cleared', since: T0 },
    ])
  })

  it('clears a seeded alert whose rule no longer exists, once, instead of keeping it raised', () => {
    const rules = engine([rule({ id: 'hot', metric: 'temperature', high: 30 })])
    const gone = {
      gateway: 'gw',
      device: 'd1',
      metric: 'temperature',
      rule: 'gone',
      kind: 'high',
      severity: 'warning',
      value: 40,
      threshold: 35,
      since: T0,
    } as const
    rules.seed([gone], T0 + 5000)
    expect(rules.activeAlerts()).toEqual([])
    expect(rules.takeOrphaned()).toEqual([{ ...gone, state: 'cleared', ts: T0 + 5000 }])
    expect(rules.takeOrphaned()).toEqual([])
  })
})

describe('AlertRules: reload (carryFrom)', () => {
  const stale = rule({ id: 'quiet', staleSeconds: 60 })
  const hot = rule({ id: 'hot', metric: 'temperature', high: 30, count: 3 })

  it("keeps every series' silence: configured and unknown devices go stale from their last reading, not from the reload", () => {
    const devices = [device('known', 'sht31')]
    const before = engine([stale], devices)
    before.evaluate(reading('known', 20, T0 + 10_000))
    before.evaluate(reading('stranger', 20, T0 + 20_000))
    const reloadAt = T0 + 50_000
    const after = engine([stale, hot], devices)
    after.carryFrom(before, reloadAt)
    expect(after.checkStale(T0 + 69_999)).toEqual([])
    expect(after.checkStale(T0 + 70_000).map((e) => e.device)).toEqual(['known'])
    // the unknown device is watched too (it was forgotten by the reloaded rules)
    expect(after.checkStale(T0 + 80_000).map((e) => e.device)).toEqual(['stranger'])
  })

  it('keeps a pending condition: the third reading past the threshold raises across the reload', () => {
    const before = engine([hot])
    expect(before.evaluate(reading('d1', 31, T0))).toEqual([])
    expect(before.evaluate(reading('d1', 32, T0 + 1000))).toEqual([])
    const after = engine([hot])
    after.carryFrom(before, T0 + 1500)
    expect(after.evaluate(reading('d1', 33, T0 + 2000))).toMatchObject([
      { rule: 'hot', state: 'raised', since: T0 },
    ])
  })

  it('clears an active alert whose rule was removed, or whose rule changed kind, once', () => {
    const before = engine([hot, stale])
    for (const [i, v] of [31, 32, 33].entries()) before.evaluate(reading('d1', v, T0 + i))
    expect(before.activeAlerts()).toHaveLength(1)
    const after = engine([stale])
    after.carryFrom(before, T0 + 9000)
    expect(after.activeAlerts()).toEqual([])
    expect(after.takeOrphaned()).toMatchObject([
      { device: 'd1', rule: 'hot', state: 'cleared', since: T0, ts: T0 + 9000, value: 33 },
    ])
    expect(after.takeOrphaned()).toEqual([])
    const lowNow = engine([rule({ id: 'hot', metric: 'temperature', low: 0 })])
    lowNow.carryFrom(before, T0 + 9000)
    expect(lowNow.takeOrphaned()).toMatchObject([{ rule: 'hot', state: 'cleared' }])
  })

  it('clears the alerts of a device removed from the config when unknown devices are refused', () => {
    const before = engine([stale], [device('gone', 'sht31')])
    expect(before.checkStale(T0 + 60_000)).toMatchObject([{ device: 'gone', state: 'raised' }])
    const after = new AlertRules({
      gateway: 'gw',
      rules: [stale],
      devices: directory([], { policy: 'dead-letter' }),
      now: T0 + 70_000,
    })
    after.carryFrom(before, T0 + 70_000)
    expect(after.takeOrphaned()).toMatchObject([
      { device: 'gone', rule: 'quiet', state: 'cleared', value: undefined },
    ])
  })
})
