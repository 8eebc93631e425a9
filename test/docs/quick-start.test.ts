/**
 * The README's quick start promises what `floxgate simulate` (its defaults: 5 devices,
 * a reading a second, seed 42, anomalies after 10 s) does to a gateway running the example
 * config: when the spike, the drift, the garbage and the dropout show. Checked here on the
 * gateway's own logic built from config/floxgate.example.yaml, in simulated time (three
 * minutes of a real run would be a timed test), at every hour of the day, since the
 * simulator's temperatures follow a daily curve.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import { buildGatewayParts } from '../../src/daemon/gateway-parts.js'
import type { AlertEvent } from '../../src/gateway/reading.js'
import { Simulator } from '../../src/sim/simulator.js'
import { ROOT } from './blocks.js'

const README = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ')
const config = loadConfig(join(ROOT, 'config', 'floxgate.example.yaml'), {})

interface Run {
  /** Seconds after the simulator's start of the first raise, per `device/rule`. */
  readonly raised: Map<string, number>
  /** Seconds after the start of the first dead letter, per device. */
  readonly deadLetter: Map<string, number>
}

/** The simulator's first `seconds` against the example's rules, from `start`. */
function run(start: number, seconds: number): Run {
  const parts = buildGatewayParts(config, start)
  const sim = new Simulator({ devices: 5, seed: 42, anomalyAfterMs: 10_000 }, start)
  const raised = new Map<string, number>()
  const deadLetter = new Map<string, number>()
  const note = (events: readonly AlertEvent[], t: number) => {
    for (const e of events) {
      const key = `${e.device}/${e.rule}`
      if (e.state === 'raised' && !raised.has(key)) raised.set(key, (t - start) / 1000)
    }
  }
  const staleEvery = config.alerts.staleCheckSeconds * 1000
  let lastStaleCheck = Number.NEGATIVE_INFINITY
  for (let t = start; t <= start + seconds * 1000; t += 1000) {
    for (const m of sim.messagesAt(t)) {
      const payload = Buffer.from(m.payload)
      const parsed = parts.parser.parse(m.topic, payload, t)
      const out = parts.classifier.classifyMessage(parsed, m.topic, payload)
      if (out.deadLetters.length > 0 && !deadLetter.has(m.device))
        deadLetter.set(m.device, (t - start) / 1000)
      for (const r of out.readings) note(parts.rules.evaluate(r), t)
    }
    // The housekeeping node's stale check, every alerts.staleCheckSeconds.
    if (t - lastStaleCheck >= staleEvery) {
      lastStaleCheck = t
      note(parts.rules.checkStale(t), t)
    }
  }
  return { raised, deadLetter }
}

const HOUR = 3_600_000
const DAY0 = Date.UTC(2026, 11, 1)
const runs = Array.from({ length: 24 }, (_, h) => run(DAY0 + h * HOUR + 123, 180))
const worst = (of: (r: Run) => number | undefined) =>
  Math.max(...runs.map((r) => of(r) ?? Number.POSITIVE_INFINITY))
const best = (of: (r: Run) => number | undefined) =>
  Math.min(...runs.map((r) => of(r) ?? Number.POSITIVE_INFINITY))

it('the heat spike raises the critical overheat alert and the garbage makes dead letters, about 10 s in', () => {
  expect(README).toContain(
    "Within a minute the simulator's heat spike raises a critical `overheat` alert and its garbage payloads end as dead letters (both about 10 s after it starts)",
  )
  expect(config.rules.find((r) => r.id === 'overheat')?.severity).toBe('critical')
  expect(best((r) => r.raised.get('sim-1/overheat'))).toBeGreaterThanOrEqual(10)
  expect(worst((r) => r.raised.get('sim-1/overheat'))).toBeLessThanOrEqual(15)
  expect(best((r) => r.deadLetter.get('sim-4'))).toBeGreaterThanOrEqual(10)
  expect(worst((r) => r.deadLetter.get('sim-4'))).toBeLessThanOrEqual(15)
  // and only the garbage device's
  for (const r of runs) expect([...r.deadLetter.keys()]).toEqual(['sim-4'])
})

it('the slow drift raises fast-change at about 30 s and too-hot 50 to 75 s after the start', () => {
  expect(README).toContain(
    'its slow drift raises `fast-change` at about 30 s and `too-hot` 50 to 75 s after the start',
  )
  expect(best((r) => r.raised.get('sim-2/fast-change'))).toBeGreaterThanOrEqual(25)
  expect(worst((r) => r.raised.get('sim-2/fast-change'))).toBeLessThanOrEqual(35)
  expect(best((r) => r.raised.get('sim-2/too-hot'))).toBeGreaterThanOrEqual(50)
  expect(worst((r) => r.raised.get('sim-2/too-hot'))).toBeLessThanOrEqual(75)
})

it('the dropout sensor goes stale about 130 s after the start, the configured devices at 120 s', () => {
  expect(README).toContain('Its dropout sensor goes stale about 130 s after the start')
  expect(README).toContain(
    "the example's four configured devices, which the simulator does not play, go stale 120 s after the gateway started",
  )
  expect(config.rules.find((r) => r.id === 'silent')?.staleSeconds).toBe(120)
  expect(best((r) => r.raised.get('sim-3/silent'))).toBeGreaterThanOrEqual(129)
  expect(worst((r) => r.raised.get('sim-3/silent'))).toBeLessThanOrEqual(135)
  const configured = config.devices.map((d) => d.id)
  expect(configured).toHaveLength(4)
  for (const r of runs) {
    // (the gateway started with the simulator here)
    for (const d of configured) expect(r.raised.get(`${d}/silent`)).toBe(120)
    expect(
      [...r.raised.keys()].filter((k) => k.endsWith('/silent') && k.startsWith('sim-')),
    ).toEqual(['sim-3/silent'])
  }
})
