import { expect, it } from 'vitest'
import { GARBAGE_PAYLOADS, Simulator } from '../../src/sim/simulator.js'

const T0 = Date.UTC(2026, 0, 1, 12)

function run(seed: number, seconds: number) {
  const sim = new Simulator({ devices: 5, seed, anomalyAfterMs: 10_000 }, T0)
  return Array.from({ length: seconds }, (_, s) => sim.messagesAt(T0 + s * 1000))
}

it('is deterministic for a seed, and another seed gives other readings', () => {
  expect(run(7, 30)).toEqual(run(7, 30))
  expect(run(8, 30)).not.toEqual(run(7, 30))
})

it('stays in a plausible indoor range before the anomalies start', () => {
  for (const tick of run(1, 10)) {
    expect(tick).toHaveLength(5)
    for (const m of tick) {
      const v = JSON.parse(m.payload) as { temperature: number; humidity: number; ts: number }
      expect(v.temperature).toBeGreaterThan(10)
      expect(v.temperature).toBeLessThan(30)
      expect(v.humidity).toBeGreaterThanOrEqual(0)
      expect(v.humidity).toBeLessThanOrEqual(100)
    }
  }
})

it('injects each anomaly on its own device once they start', () => {
  const ticks = run(3, 60).slice(10)
  const of = (device: string) => ticks.flatMap((t) => t.filter((m) => m.device === device))
  // sim-1: a heat spike well above 40 °C.
  expect(
    of('sim-1').some((m) => m.kind === 'spike' && JSON.parse(m.payload).temperature > 40),
  ).toBe(true)
  // sim-2: a drift that ends above 30 °C.
  const drift = of('sim-2').map(
    (m) => (JSON.parse(m.payload) as { temperature: number }).temperature,
  )
  expect(drift.at(-1)!).toBeGreaterThan(30)
  expect(drift.at(-1)!).toBeGreaterThan(drift[0]!)
  // sim-3: silent.
  expect(of('sim-3')).toEqual([])
  // sim-4: some garbage among its readings, all from the known list.
  const garbage = of('sim-4').filter((m) => m.kind === 'garbage')
  expect(garbage.length).toBeGreaterThan(0)
  for (const g of garbage) expect(GARBAGE_PAYLOADS).toContain(g.payload)
})
