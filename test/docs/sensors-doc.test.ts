import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { PRESET_NAMES } from '../../src/gateway/presets/index.js'
import { presetSamples } from '../../src/gateway/presets/samples.js'

const doc = readFileSync(new URL('../../docs/sensors.md', import.meta.url), 'utf8')
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

it('docs/sensors.md shows every preset with the sample payload the tests send', () => {
  for (const name of PRESET_NAMES.filter((n) => !n.startsWith('shelly-')))
    expect(doc).toContain(`## ${name}`)
  for (const s of presetSamples()) {
    expect(doc).toContain(s.topic)
    expect(doc).toContain(s.payload)
  }
})

it("the README's quick start shows a preset", () => {
  const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## How it fits'))
  expect(quick).toMatch(/- preset: \w+/)
})
