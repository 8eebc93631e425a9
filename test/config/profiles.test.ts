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

  it('ships the profiles the presets bring in, with their data-sheet ranges', () => {
    const { profiles } = loadProfiles(builtinProfilesDir())
    const ranges = (id: string) =>
      Object.entries(profiles.get(id)?.metrics ?? {}).map(([m, s]) => [m, s.min, s.max])
    // The table in docs/sensors.md, "Device profiles".
    expect(ranges('lywsd03mmc')).toEqual([
      ['temperature', 0, 60],
      ['humidity', 0, 99],
      ['battery', 0, 100],
      ['voltage', 1.8, 3.6],
    ])
    expect(ranges('aqara-wsdcgq11lm')).toEqual([
      ['temperature', -20, 50],
      ['humidity', 0, 100],
      ['pressure', 300, 1100],
      ['battery', 0, 100],
      ['voltage', 2, 3.3],
    ])
    expect(profiles.get('aqara-wsdcgq11lm')?.payload.units).toMatchObject({ voltage: 'mV' })
    expect(ranges('shelly-ht').slice(0, 3)).toEqual([
      ['temperature', -40, 60],
      ['humidity', 0, 100],
      ['battery', 0, 100],
    ])
    expect(ranges('lacrosse-tx141th-bv2')).toEqual([
      ['temperature', -40, 60],
      ['humidity', 10, 99],
      ['battery', 0, 100],
    ])
    expect(ranges('lacrosse-tx141w')).toEqual([
      ['temperature', -40, 60],
      ['humidity', 1, 99],
      ['battery', 0, 100],
    ])
    expect(ranges('scd40')).toEqual([
      ['co2', 0, 40000],
      ['temperature', -10, 60],
      ['humidity', 0, 100],
    ])
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
