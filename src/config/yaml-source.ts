/**
 * The config file as YAML: syntax errors with line:column, `${VAR}` substitution from
 * the environment, and the line of any path (so every problem can say where it is).
 */
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type YAMLError,
} from 'yaml'
import type { ConfigProblem } from './problems.js'

export interface YamlSource {
  /** The plain value (undefined when the syntax is broken). */
  readonly value: unknown
  readonly problems: ConfigProblem[]
  /** 1-based line and column of the node at `path` (or of the key, for a missing child). */
  position(path: readonly PropertyKey[]): { line: number; col: number } | undefined
}

export function readYaml(text: string): YamlSource {
  let doc: Document.Parsed | undefined = parseYaml(text)
  const problems: ConfigProblem[] = doc.errors.map(yamlProblem)
  // The parsed document costs about 20 times the file's size in heap (73 MB for a 3.6 MB
  // file of 40,000 devices); keeping it while the schema runs would double the peak of
  // loading. Positions are only wanted when there are problems: parse again then.
  let positions: { doc: Document.Parsed; lines: LineCounter } | undefined
  const position = (path: readonly PropertyKey[]) => {
    positions ??= (() => {
      const lines = new LineCounter()
      return { doc: parseYaml(text, lines), lines }
    })()
    return positionIn(positions.doc, positions.lines, path)
  }
  if (problems.length > 0) return { value: undefined, problems, position }
  try {
    const value: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {}
    doc = undefined
    return { value, problems, position }
  } catch (err) {
    // yaml throws a ReferenceError when aliases expand past maxAliasCount (an alias
    // bomb: nine lines that would build 10^9 nodes).
    return {
      value: undefined,
      problems: [
        {
          path: '',
          message: `YAML aliases: the file uses its aliases (*name) more than ${MAX_ALIAS_COUNT} times over, so it would expand into far more values than any config holds (${(err as Error).message}); write the repeated values out, or use fewer aliases`,
        },
      ],
      position,
    }
  }
}

function parseYaml(text: string, lineCounter?: LineCounter): Document.Parsed {
  return parseDocument(text, {
    ...(lineCounter === undefined ? {} : { lineCounter }),
    prettyErrors: true,
    uniqueKeys: true,
  })
}

function positionIn(
  doc: Document.Parsed,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): { line: number; col: number } | undefined {
  let node: unknown = doc.contents
  let last: Node | undefined = isNode(node) ? node : undefined
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key),
      )
      if (pair === undefined) break
      last = isNode(pair.key) ? pair.key : last
      node = pair.value
      if (isNode(node)) last = node
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key]
      if (!isNode(node)) break
      last = node
    } else {
      break
    }
  }
  const offset = last?.range?.[0]
  return offset === undefined ? undefined : lineCounter.linePos(offset)
}

/** yaml's own default; each alias counts as often as the nodes it expands to. */
const MAX_ALIAS_COUNT = 100

/** A YAML parse error as a problem with its position (yaml's message minus the snippet). */
export function yamlProblem(e: YAMLError): ConfigProblem {
  const pos = e.linePos?.[0]
  return {
    path: '',
    message: `YAML syntax: ${e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '')}`,
    line: pos?.line,
    col: pos?.col,
  }
}

function isNode(v: unknown): v is Node {
  return isMap(v) || isSeq(v) || isScalar(v)
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}/g

/** What the schema takes at a path: `${VAR}` there becomes a number or a boolean. */
export type ScalarKinds = (path: readonly PropertyKey[]) => ReadonlySet<'number' | 'boolean'>

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string of `value` from `env`; a
 * variable that is unset and has no default is a problem at that path. Where the schema
 * takes a number or a boolean (`kinds`), a substituted `1883` or `true` becomes one:
 * the environment only holds strings.
 */
export function substituteEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  problems: Array<{ path: PropertyKey[]; message: string }>,
  kinds: ScalarKinds = () => new Set(),
  path: PropertyKey[] = [],
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value
    const text = value.replace(
      VAR,
      (_whole, name: string, hasDefault: string | undefined, dflt: string | undefined) => {
        const v = env[name]
        if (v !== undefined && v !== '') return v
        if (hasDefault !== undefined) return dflt ?? ''
        problems.push({
          path,
          message: `environment variable ${name} is not set (use \${${name}:-default} for a fallback)`,
        })
        return ''
      },
    )
    const wants = kinds(path)
    if (wants.has('number') && NUMBER.test(text.trim())) return Number(text)
    if (wants.has('boolean') && (text.trim() === 'true' || text.trim() === 'false'))
      return text.trim() === 'true'
    return text
  }
  if (Array.isArray(value))
    return value.map((v, i) => substituteEnv(v, env, problems, kinds, [...path, i]))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value))
      out[k] = substituteEnv(v, env, problems, kinds, [...path, k])
    return out
  }
  return value
}
