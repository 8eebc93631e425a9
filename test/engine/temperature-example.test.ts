import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  buildTemperatureWorkflow,
  newTemperatureContext,
  type TemperatureEvent,
} from '../../src/examples/temperature.js'
import { ChannelEventSource } from '../../src/index.js'

const reading = (sensorId: string, celsius: number): TemperatureEvent => ({
  sensorId,
  celsius,
  ts: 0,
})

describe('temperature example (ADR-0009, done right)', () => {
  it('routes high and low readings to their handlers; critical terminates', async () => {
    const src = new ChannelEventSource<TemperatureEvent>(16, 'sensors')
    const ctx = newTemperatureContext()
    const run = buildTemperatureWorkflow(src).execute(ctx, { timeoutMs: 10_000 })
    for (const [s, c] of [
      ['s1', 20],
      ['s2', 30],
      ['s3', 10],
      ['s1', 25],
      ['s2', 39.9],
      ['s3', -5],
      ['s1', 40],
      ['s2', 21],
    ] as const) {
      await src.send(reading(s, c))
    }
    const res = await run
    expect(res.reason).toBe('terminated')
    expect(res.terminatedBy).toBe('critical-handler')
    expect(ctx.handled).toEqual({
      normal: [20, 25],
      high: [30, 39.9],
      low: [10, -5],
      critical: [40],
    })
    expect(ctx.alerts).toEqual([
      'HIGH s2: 30 °C',
      'LOW s3: 10 °C',
      'HIGH s2: 39.9 °C',
      'LOW s3: -5 °C',
      'CRITICAL s1: 40 °C',
    ])
    expect(ctx.history.get('s1')).toEqual([20, 25, 40])
    expect(ctx.averages.get('s3')).toEqual({ count: 2, mean: 2.5 })
    // The reading after the critical one was not processed.
    expect(ctx.averages.get('s2')?.count).toBe(2)
  })

  it.runIf(existsSync('build/examples/temperature.js'))('runs as a program', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      'build/examples/temperature.js',
    ])
    expect(stdout).toContain('run ended: terminated (by critical-handler)')
    expect(stdout).toContain('HIGH sensor-2: 33 °C')
    expect(stdout).toContain('LOW sensor-3: 7.5 °C')
  })
})
