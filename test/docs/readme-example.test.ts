import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'

const root = join(import.meta.dirname, '..', '..')

/** The first ```ts block after `heading` in README.md, as written there. */
function readmeBlock(heading: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const at = readme.indexOf(heading)
  expect(at, `README.md has no "${heading}" section`).toBeGreaterThanOrEqual(0)
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at))
  expect(block, `no \`\`\`ts block under "${heading}"`).not.toBeNull()
  return block?.[1] ?? ''
}

// The README's engine snippet, extracted from README.md and run as written (only the
// package name points at this checkout), so the documentation cannot rot.
test('the README engine example routes a high reading and terminates on a critical one', async () => {
  const code = readmeBlock('### Using the engine')
  expect(code).toContain("from 'floxgate'")
  const dir = mkdtempSync(join(tmpdir(), 'floxgate-readme-'))
  try {
    const file = join(dir, 'example.ts')
    const entry = join(root, 'src', 'index.ts')
    writeFileSync(
      file,
      `${code.replace("from 'floxgate'", `from ${JSON.stringify(entry)}`)}\nexport { result }\n`,
    )
    const example = (await import(file)) as {
      result: { reason: string; eventsProcessed: number; terminatedBy: string; errors: number }
    }
    expect(example.result.reason).toBe('terminated')
    expect(example.result.terminatedBy).toBe('classify')
    expect(example.result.errors).toBe(0)
    // Both readings went through: the first was routed to the alert, the second ended it.
    expect(example.result.eventsProcessed).toBe(2)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
