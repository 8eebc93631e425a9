import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export const ROOT = join(import.meta.dirname, '..', '..')

/** One code block of a Markdown file, as written there, with the marker before it. */
export interface DocBlock {
  /** Relative to the repository: `README.md`, `docs/config.md`. */
  readonly file: string
  /** 1-based line of the block's first line (the fence, or the first indented line). */
  readonly line: number
  readonly lang: string
  readonly text: string
  /**
   * `<!-- doc-test: HOW -->` (run: `check-config`, `profile`, `ts`, or a test file that
   * extracts the block itself) or `<!-- not-run: WHY -->`, on the last non-blank line
   * before the block; undefined when missing.
   */
  readonly marker: { readonly kind: 'doc-test' | 'not-run'; readonly value: string } | undefined
  /** What it is called in failure messages: `docs/config.md:91`. */
  readonly where: string
}

/** README.md and every docs/*.md. */
export function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`)
  return ['README.md', ...docs]
}

const MARKER = /^\s*<!--\s*(doc-test|not-run):\s*(.*?)\s*-->\s*$/
const FENCE = /^(\s*)(`{3,})\s*([\w-]*)/
const LIST_ITEM = /^\s*([-*]|\d+\.)\s/

/**
 * Fenced blocks (also inside list items) and top-level indented blocks (4 spaces after a
 * blank line, not continuing a list item), in file order.
 */
export function blocksOf(file: string): DocBlock[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n')
  const out: DocBlock[] = []
  const markerBefore = (i: number): DocBlock['marker'] => {
    let k = i - 1
    while (k >= 0 && lines[k]!.trim() === '') k--
    const m = k >= 0 ? MARKER.exec(lines[k]!) : null
    return m ? { kind: m[1] as 'doc-test' | 'not-run', value: m[2]! } : undefined
  }
  let inList = false
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!
    const fence = FENCE.exec(l)
    if (fence) {
      const indent = fence[1]!.length
      let j = i + 1
      while (j < lines.length && !lines[j]!.trimStart().startsWith(fence[2]!)) j++
      const text = lines
        .slice(i + 1, j)
        .map((x) => x.slice(Math.min(indent, x.length - x.trimStart().length)))
        .join('\n')
      out.push({
        file,
        line: i + 1,
        lang: fence[3] ?? '',
        text: `${text}\n`,
        marker: markerBefore(i),
        where: `${file}:${i + 1}`,
      })
      i = j
      continue
    }
    if (l.trim() === '') continue
    if (LIST_ITEM.test(l)) {
      inList = true
      continue
    }
    const prevBlank = i > 0 && lines[i - 1]!.trim() === ''
    // indented under a list item: its continuation, not a code block
    if (inList && l.startsWith('  ')) continue
    inList = false
    if (l.startsWith('    ') && prevBlank) {
      let j = i
      while (j < lines.length && (lines[j]!.startsWith('    ') || lines[j]!.trim() === '')) j++
      const text = lines
        .slice(i, j)
        .map((x) => x.slice(4))
        .join('\n')
        .trimEnd()
      out.push({
        file,
        line: i + 1,
        lang: 'indented',
        text: `${text}\n`,
        marker: markerBefore(i),
        where: `${file}:${i + 1}`,
      })
      i = j - 1
    }
  }
  return out
}

export function allBlocks(): DocBlock[] {
  return docFiles().flatMap(blocksOf)
}

/**
 * Indented lines glued to a paragraph (no blank line before them): Markdown renders them as
 * part of the paragraph, so a command written that way is neither a code block (no doc
 * test sees it) nor readable prose. Returns `file:line` of each.
 */
export function gluedIndentedLines(file: string): string[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n')
  const out: string[] = []
  let fence: string | undefined
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!
    const f = FENCE.exec(l)
    if (f) {
      if (fence === undefined) fence = f[2]
      else if (l.trimStart().startsWith(fence)) fence = undefined
      continue
    }
    if (fence !== undefined || !/^ {4,}\S/.test(l)) continue
    const prev = lines[i - 1] ?? ''
    // After prose at the left margin (not a list item, table row, heading or comment).
    if (prev.trim() === '' || /^\s/.test(prev) || LIST_ITEM.test(prev) || /^[|#<]/.test(prev))
      continue
    out.push(`${file}:${i + 1}`)
  }
  return out
}
