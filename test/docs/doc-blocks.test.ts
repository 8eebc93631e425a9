import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkConfig, formatConfigErrors } from '../../src/config/index.js'
import { loadProfiles } from '../../src/config/profiles.js'
import { allBlocks, type DocBlock, docFiles, gluedIndentedLines, ROOT } from './blocks.js'

// Every code block and shell command in README.md and docs/*.md is either run by a doc
// test, extracted from the file as written, or marked not runnable with the reason:
//   <!-- doc-test: check-config -->   a config (or part of one): check-config accepts it
//   <!-- doc-test: profile -->        a device profile file: the profile loader accepts it
//   <!-- doc-test: ts -->             TypeScript run as written ('floxgate' = this checkout)
//   <!-- doc-test: test/x.test.ts --> a test that extracts the block from the file itself
//   <!-- not-run: why -->             e.g. systemctl, a Pi, the network, fixed ports
const blocks = allBlocks()
const dir = mkdtempSync(join(tmpdir(), 'floxgate-doc-blocks-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const marked = (value: string) =>
  blocks.filter((b) => b.marker?.kind === 'doc-test' && b.marker.value === value)

it('finds the blocks (the extractor works)', () => {
  expect(blocks.length).toBeGreaterThan(30)
  expect(blocks.map((b) => b.file)).toContain('docs/operations.md')
})

it('every block is run by a doc test or says why it is not', () => {
  const unmarked = blocks.filter((b) => b.marker === undefined).map((b) => b.where)
  expect(unmarked, 'add <!-- doc-test: ... --> or <!-- not-run: reason --> before each').toEqual([])
  const noReason = blocks
    .filter((b) => b.marker?.kind === 'not-run' && b.marker.value.length < 12)
    .map((b) => b.where)
  expect(noReason, 'a not-run marker says why').toEqual([])
})

it('no command hides in a paragraph: an indented line needs a blank line before it', () => {
  expect(docFiles().flatMap(gluedIndentedLines)).toEqual([])
})

it('a block left to a test file is extracted there from its doc, not retyped', () => {
  const runners = new Set(['check-config', 'profile', 'ts'])
  for (const b of blocks) {
    if (b.marker?.kind !== 'doc-test' || runners.has(b.marker.value)) continue
    const test = join(ROOT, b.marker.value)
    expect(existsSync(test), `${b.where}: ${b.marker.value} does not exist`).toBe(true)
    const source = readFileSync(test, 'utf8')
    expect(source, `${b.where}: ${b.marker.value} does not read ${b.file}`).toContain(
      b.file === 'README.md' ? 'README.md' : b.file.replace('docs/', ''),
    )
  }
})

function write(b: DocBlock, name: string): string {
  const file = join(dir, `${b.file.replace(/\W/g, '_')}-${b.line}-${name}`)
  writeFileSync(file, b.text)
  return file
}

describe('configs in the docs pass check-config', () => {
  it.each(marked('check-config').map((b) => [b.where, b] as const))('%s', (_w, b) => {
    // ${VAR} references stand for secrets the reader provides
    const env = Object.fromEntries(
      [...b.text.matchAll(/\$\{(\w+)\}/g)].map((m) => [m[1]!, 'doc-test']),
    )
    const r = checkConfig(write(b, 'floxgate.yaml'), env)
    expect(r.ok ? '' : formatConfigErrors(r.problems)).toBe('')
  })
})

describe('device profiles in the docs load', () => {
  it.each(marked('profile').map((b) => [b.where, b] as const))('%s', (_w, b) => {
    const own = mkdtempSync(join(dir, 'profile-'))
    writeFileSync(join(own, 'doc-profile.yaml'), b.text)
    const r = loadProfiles(own)
    expect(r.problems).toEqual([])
    expect(r.profiles.size).toBe(1)
  })
})

describe('TypeScript examples in the docs run', () => {
  it.each(marked('ts').map((b) => [b.where, b] as const))('%s', async (_w, b) => {
    const entry = JSON.stringify(join(ROOT, 'src', 'index.ts'))
    const code = b.text.replaceAll(/from 'floxgate'/g, `from ${entry}`)
    const file = join(dir, `${b.file.replace(/\W/g, '_')}-${b.line}.ts`)
    writeFileSync(file, `${code}\nexport {}\n`)
    await import(file)
  })
})
