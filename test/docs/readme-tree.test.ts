import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'

const root = join(import.meta.dirname, '..', '..')

/** The folders the README's map of src/ names (`  engine/   the generic ...`). */
function foldersInReadme(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const at = readme.indexOf('## How it fits together')
  expect(at, 'README.md has no "How it fits together" section').not.toBe(-1)
  const map = /```\nsrc\/\n([\s\S]*?)```/.exec(readme.slice(at))?.[1] ?? ''
  return [...map.matchAll(/^ {2}([a-z]+)\/ /gm)].map((m) => m[1] ?? '')
}

// The map is how a reader finds where a thing lives: a folder added, renamed or removed
// without it would send them to the wrong place.
test("the README's map of src/ names every folder of src/, and only those", () => {
  const actual = readdirSync(join(root, 'src'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
  expect(foldersInReadme().sort()).toEqual(actual.sort())
})
