#!/usr/bin/env node
// Fails when an import runs against the direction of the folders in src/ (README, "How it
// fits together"): the engine imports nothing outside src/engine/, the gateway's domain
// logic does no I/O, and the parts below the daemon never import the daemon, the CLI or
// the nodes that wire them. Run by `npm run check:imports` and .ci/run; test/scripts/
// checks that it catches each kind of wrong arrow.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Packages and node builtins that touch the disk, the network or other processes. */
const IO_MODULES = new Set([
  'fs',
  'fs/promises',
  'net',
  'tls',
  'http',
  'https',
  'http2',
  'dgram',
  'dns',
  'child_process',
  'worker_threads',
  'cluster',
  'readline',
  'better-sqlite3',
  'mqtt',
  'aedes',
  'ws',
  'pino',
  'prom-client',
  'commander',
])

/** Folders of src/ that wire the others together; nothing below them may import them. */
const WIRING = ['daemon', 'cli', 'bench', 'examples']

/** One rule per folder: which folders of src/ it may not import, and which packages. */
const RULES = {
  engine: {
    why: 'the engine imports nothing outside src/engine/ (it can be lifted out whole)',
    mayImport: (folder) => folder === 'engine',
    mayUsePackage: (name) => name.startsWith('node:') && !IO_MODULES.has(name.slice(5)),
  },
  gateway: {
    why: 'the gateway is pure domain logic: no I/O and no wiring',
    mayImport: (folder) => ['gateway', 'engine', 'errors.ts', 'version.ts'].includes(folder),
    mayUsePackage: (name) => !IO_MODULES.has(name.replace(/^node:/, '')),
  },
}
for (const lower of ['config', 'store', 'broker', 'uplink', 'ops', 'sim', 'homeassistant', 'ui']) {
  RULES[lower] = {
    why: `${lower}/ sits below the nodes and the daemon that wire it`,
    mayImport: (folder) => folder !== 'nodes' && !WIRING.includes(folder),
    mayUsePackage: () => true,
  }
}
// Shared MQTT.js connection code: the broker/ and uplink/ folders both build on it.
RULES.mqtt = {
  why: 'mqtt/ holds what broker/ and uplink/ share, so it imports neither (nor what wires them)',
  mayImport: (folder) => ['mqtt', 'engine', 'errors.ts', 'version.ts'].includes(folder),
  mayUsePackage: () => true,
}
for (const beside of ['nodes', 'notify']) {
  RULES[beside] = {
    why: `${beside}/ sits below the daemon that wires it`,
    mayImport: (folder) => !WIRING.includes(folder),
    mayUsePackage: () => true,
  }
}
for (const wiring of WIRING) {
  RULES[wiring] = { why: '', mayImport: () => true, mayUsePackage: () => true }
}
// The files at the root of src/ (error codes, exit codes, version, the package entry).
const ROOT = {
  why: "src/*.ts sit below every folder but the engine (the engine's errors are re-exported)",
  mayImport: (folder) => folder === 'engine' || folder.endsWith('.ts'),
  mayUsePackage: () => true,
}

const SPECIFIERS = [
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g, // import x from, export * from
  /(?:^|[\s;])import\s*['"]([^'"]+)['"]/g, // import 'side-effect'
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('x'), typeof import('x')
]

/** The module specifiers a source file imports. */
export function importsOf(source) {
  const found = new Set()
  for (const re of SPECIFIERS) for (const m of source.matchAll(re)) found.add(m[1])
  return [...found]
}

/** `engine`, `gateway`, ... or the file name for files at the root of src/. */
function folderOf(srcDir, file) {
  return relative(srcDir, file).split(sep)[0]
}

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* sourceFiles(path)
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path
  }
}

/** Every import in `srcDir` that breaks a rule, as `file: imports x (why)`. */
export function findViolations(srcDir) {
  const root = resolve(srcDir)
  const problems = []
  for (const file of sourceFiles(root)) {
    const folder = folderOf(root, file)
    const rule = folder.endsWith('.ts') ? ROOT : RULES[folder]
    if (rule === undefined) {
      // A new folder must say where it sits, or its imports would go unchecked.
      problems.push(
        `${relative(process.cwd(), file)}: ${folder}/ has no rule in scripts/check-imports.mjs`,
      )
      continue
    }
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const where = relative(process.cwd(), file)
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec)
        const folder = target.startsWith(root + sep) ? folderOf(root, target) : '(outside src)'
        const name = folder.replace(/\.js$/, '.ts')
        if (!rule.mayImport(name)) problems.push(`${where}: imports ${spec} (${rule.why})`)
      } else if (!rule.mayUsePackage(spec)) {
        problems.push(`${where}: imports ${spec} (${rule.why})`)
      }
    }
  }
  return problems
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const srcDir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src')
  const problems = findViolations(srcDir)
  if (problems.length > 0) {
    console.error(`${problems.length} import(s) against the folder direction:`)
    for (const p of problems) console.error(`  ${p}`)
    process.exit(1)
  }
  console.log('imports: every arrow points the right way')
}
