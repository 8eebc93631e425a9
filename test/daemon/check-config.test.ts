import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { tempDir } from '../helpers/tmp.js'
import { runCli } from './cli-process.js'

const EXAMPLE = fileURLToPath(new URL('../../config/floxgate.example.yaml', import.meta.url))
let dir: { dir: string; cleanup: () => void }
let bad: string

beforeAll(() => {
  dir = tempDir('floxgate-check-')
  bad = join(dir.dir, 'bad.yaml')
  writeFileSync(
    bad,
    [
      'gateway:',
      `  dataDir: ${dir.dir}`,
      'broker:',
      '  embedded:',
      '    port: 70000',
      'rules:',
      '  - id: too-hot',
      '    metric: temperature',
      '    high: thirty',
      '',
    ].join('\n'),
  )
})
afterAll(() => dir?.cleanup())

const PROBLEMS = [
  'broker.embedded.port: expected an integer 1..65535, got 70000 (line 5)',
  'rules[0].high: expected a number, got "thirty" (line 9)',
]

it('check-config exits 0 on the shipped example', async () => {
  const r = await runCli(['check-config', EXAMPLE])
  expect(r.stderr).toBe('')
  expect(r.stdout).toMatch(
    /floxgate\.example\.yaml: OK \(embedded broker on 127\.0\.0\.1:1883; 4 devices/,
  )
  expect(r.code).toBe(0)
})

it('check-config exits 2 with one `path: message` line per problem', async () => {
  const r = await runCli(['check-config', bad])
  expect(r.code).toBe(2)
  expect(r.stderr).toContain('2 problem(s)')
  for (const p of PROBLEMS) expect(r.stderr).toContain(p)
  expect(r.stdout).toBe('')
})

it('check-config takes the file as --config FILE too, as start, status and export do', async () => {
  const ok = await runCli(['check-config', '--config', EXAMPLE])
  expect(ok.stdout).toMatch(/floxgate\.example\.yaml: OK/)
  expect(ok.code).toBe(0)
  const r = await runCli(['check-config', '-c', bad])
  expect(r.code).toBe(2)
  for (const p of PROBLEMS) expect(r.stderr).toContain(p)
})

it('check-config refuses two different config files (exit 2)', async () => {
  const r = await runCli(['check-config', EXAMPLE, '--config', bad])
  expect(r.code).toBe(2)
  expect(r.stderr).toContain('two config files given')
})

it('start refuses the same config with the same lines and exit 2, before binding anything', async () => {
  const r = await runCli(['start', '--config', bad])
  expect(r.code).toBe(2)
  for (const p of PROBLEMS) expect(r.stderr).toContain(p)
  expect(r.stdout).not.toContain('floxgate is ready')
})

it('check-config on an external broker says which broker settings keep messages while floxgate is down', async () => {
  const file = join(dir.dir, 'external.yaml')
  writeFileSync(
    file,
    [
      'gateway:',
      `  dataDir: ${dir.dir}`,
      'broker:',
      '  mode: external',
      '  external:',
      '    url: mqtt://127.0.0.1:1883',
      '',
    ].join('\n'),
  )
  const r = await runCli(['check-config', file])
  expect(r.code).toBe(0)
  expect(r.stdout).toMatch(/OK \(external broker mqtt:\/\/127\.0\.0\.1:1883/)
  expect(r.stdout).toMatch(/^note: .*`persistence true`.*`max_queued_messages 100000`/m)
})
