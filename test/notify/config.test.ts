import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { checkConfig, formatConfigErrors, loadConfig } from '../../src/config/index.js'
import { tempDir } from '../helpers/tmp.js'

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

function problems(yaml: string): string[] {
  const { dir, cleanup } = tempDir('floxgate-notify-config-')
  cleanups.push(cleanup)
  const file = join(dir, 'floxgate.yaml')
  writeFileSync(file, yaml)
  const r = checkConfig(file, {})
  return r.ok ? [] : formatConfigErrors(r.problems).split('\n')
}

it('names an unknown sink in a rule, a duplicate sink id and a sink with no or two kinds', () => {
  const found = problems(`
notify:
  - id: phone
    ntfy: { topic: greenhouse }
  - id: phone
    webhook: { url: http://127.0.0.1:8080/hook }
  - id: nothing
  - id: both
    webhook: { url: http://127.0.0.1:8080/hook }
    ntfy: { topic: x }
  - id: bad-url
    webhook: { url: ftp://example.com }
rules:
  - { id: hot, metric: temperature, high: 30, notify: [phnoe], repeatMinutes: 0 }
`)
  expect(found.join('\n')).toMatch(/notify\[1\]\.id: duplicate notify sink id "phone"/)
  expect(found.join('\n')).toMatch(/notify\[2\]: must set one of webhook or ntfy/)
  expect(found.join('\n')).toMatch(/notify\[3\]: must set only one of webhook or ntfy/)
  expect(found.join('\n')).toMatch(
    /notify\[4\]\.webhook\.url: expected an http:\/\/ or https:\/\/ URL/,
  )
  expect(found.join('\n')).toMatch(
    /rules\[0\]\.notify\[0\]: unknown notify sink "phnoe", did you mean "phone"\?/,
  )
  expect(found.join('\n')).toMatch(/rules\[0\]\.repeatMinutes: expected a number > 0/)
})

it('the shipped example config loads with notify off and a repeat on the overheat rule', () => {
  const c = loadConfig('config/floxgate.example.yaml', {})
  expect(c.notify).toEqual([])
  expect(c.rules.find((r) => r.id === 'overheat')?.repeatMinutes).toBe(60)
})

it('the example config with its notify block uncommented loads both sinks', () => {
  const text = readFileSync('config/floxgate.example.yaml', 'utf8')
  const lines = text.split('\n')
  const from = lines.findIndex((l) => l.startsWith('# notify:'))
  const to = lines.findIndex((l, i) => i > from && !l.startsWith('#   ') && i !== from)
  expect(from).toBeGreaterThan(0)
  const uncommented = [
    ...lines.slice(0, from),
    ...lines.slice(from, to).map((l) => l.slice(2)),
    ...lines.slice(to),
  ].join('\n')
  const { dir, cleanup } = tempDir('floxgate-notify-example-')
  cleanups.push(cleanup)
  const file = join(dir, 'floxgate.yaml')
  writeFileSync(file, uncommented)
  const c = loadConfig(file, { HOOK_TOKEN: 't0ken' })
  expect(c.notify.map((s) => s.id)).toEqual(['phone', 'ops'])
  expect(c.notify[1]?.webhook?.headers).toEqual({ Authorization: 'Bearer t0ken' })
})
