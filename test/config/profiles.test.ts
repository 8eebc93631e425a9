import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { builtinProfilesDir, loadProfiles } from '../../src/config/profiles.js'
import { tempDir } from '../helpers/tmp.js'

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

describe('device profiles', () => {
  it('ships the common sensors with their metrics and ranges', () => {
    const { profiles, problems } = loadProfiles(builtinProfilesDir())
    expect(problems).toEqual([])
    const metrics = (id: string) => Object.keys(profiles.get(id)?.metrics ?? {})
    expect(metrics('dht22')).toEqual(['temperature', 'humidity'])
    expect(metrics('sht31')).toEqual(['temperature', 'humidity'])
    expect(metrics('bme280')).toEqual(['temperature', 'humidity', 'pressure'])
    expect(metrics('ds18b20')).toEqual(['temperature'])
    expect(metrics('generic')).toEqual([
      'temperature',
      'humidity',
      'pressure',
      'battery',
      'voltage',
      'co2',
      'illuminance',
      'pm2_5',
    ])
    expect(profiles.get('ds18b20')?.metrics.temperature).toEqual({
      min: -55,
      max: 125,
      resolution: 0.0625,
      accuracy: 0.5,
    })
    expect(profiles.get('bme280')?.payload.units).toEqual({ temperature: 'C', pressure: 'hPa' })
  })

  it('reports broken profile files with their position and keeps the good ones', () => {
    const { dir, cleanup } = tempDir('floxgate-profiles-')
    cleanups.push(cleanup)
    writeFileSync(join(dir, 'ok.yml'), 'name: OK\nmetrics: { humidity: { min: 0, max: 100 } }\n')
    writeFileSync(join(dir, 'syntax.yaml'), 'name: S\nmetrics: [\n')
    writeFileSync(join(dir, 'typo.yaml'), 'name: T\nmetrics: { temprature: { min: 0, max: 1 } }\n')
    writeFileSync(
      join(dir, 'units.yaml'),
      'name: U\nmetrics: { temperature: { min: 0, max: 1 } }\npayload: { units: { temperature: R } }\n',
    )
    const { profiles, problems } = loadProfiles(dir)
    expect([...profiles.keys()]).toEqual(['ok'])
    const lines = problems.map((p) => p.message.replace(`${dir}/`, ''))
    expect(lines[0]).toMatch(/^syntax\.yaml:\d+:\d+: YAML syntax: /)
    expect(lines.slice(1)).toEqual([
      'typo.yaml: metrics.temprature: unknown metric "temprature", did you mean "temperature"? (a new metric needs unit:)',
      'units.yaml: payload.units.temperature: unknown unit "R" for temperature (known: C, F, K)',
    ])
  })

  it('reports a missing folder', () => {
    expect(loadProfiles('/nonexistent/devices').problems[0]?.message).toMatch(
      /cannot read the device profile folder/,
    )
  })
})
