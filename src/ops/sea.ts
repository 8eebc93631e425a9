import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ERR } from '../errors.js'

/**
 * Runtime side of the single executable (`npm run package`, docs/packaging.md): the
 * executable carries the SQLite addon and the device profiles as SEA assets, and a native
 * addon can only be loaded from a real file, so they are extracted once into a cache
 * folder under names that contain their hash. Outside an executable (the npm package on
 * Node 20, 22 or 24) every function here falls back to the files on disk.
 */

/** Asset keys; scripts/package-sea-config.mjs writes the same keys. */
export const SEA_ASSET = {
  sqliteAddon: 'better_sqlite3.node',
  /** JSON array of the profile file names, each embedded as `devices/<name>`. */
  devicesIndex: 'devices/index.json',
  /** The status page's files, each embedded as `ui/<name>` (UI_FILES in src/ui/status-page.ts). */
  uiPrefix: 'ui/',
} as const

type SeaModule = typeof import('node:sea')

let sea: SeaModule | null | undefined

/** `node:sea` when running as a single executable; loaded lazily so Node 20 never needs it. */
function seaModule(): SeaModule | undefined {
  if (sea === undefined) {
    sea = null
    try {
      // getBuiltinModule avoids a static import (absent on old Node) and import.meta
      // (which esbuild cannot carry into the CommonJS bundle).
      const mod = process.getBuiltinModule?.('node:sea') as SeaModule | undefined
      if (mod?.isSea()) sea = mod
    } catch {
      sea = null
    }
  }
  return sea ?? undefined
}

/** True inside `dist/floxgate-linux-*`, false for the npm package. */
export function isSingleExecutable(): boolean {
  return seaModule() !== undefined
}

let nativeBinding: string | undefined

/**
 * Path of the better-sqlite3 addon extracted from the executable, for better-sqlite3's
 * `nativeBinding` option; undefined outside an executable (better-sqlite3 then finds its
 * own build).
 */
export function sqliteNativeBinding(): string | undefined {
  const mod = seaModule()
  if (mod === undefined) return undefined
  nativeBinding ??= extractFile(
    new Uint8Array(asset(mod, SEA_ASSET.sqliteAddon)),
    'better_sqlite3',
    '.node',
    cacheDirCandidates(),
  )
  return nativeBinding
}

let devices: string | undefined

/** Folder holding the bundled `devices/*.yaml` profiles. */
export function devicesDir(): string {
  const mod = seaModule()
  // src/ops/sea.ts and build/ops/sea.js both sit two levels below the package root.
  if (mod === undefined) return fileURLToPath(new URL('../../devices', import.meta.url))
  if (devices === undefined) {
    const names: unknown = JSON.parse(
      Buffer.from(asset(mod, SEA_ASSET.devicesIndex)).toString('utf8'),
    )
    const files = new Map<string, Uint8Array>()
    for (const name of Array.isArray(names) ? names : []) {
      if (typeof name === 'string') {
        files.set(name, new Uint8Array(asset(mod, `devices/${name}`)))
      }
    }
    devices = extractFolder(files, 'devices', cacheDirCandidates())
  }
  return devices
}

/**
 * One of the status page's files from inside the executable (`ui/<name>`), or undefined
 * outside an executable; served straight from memory, nothing is extracted.
 */
export function embeddedUiFile(name: string): Buffer | undefined {
  const mod = seaModule()
  if (mod === undefined) return undefined
  return Buffer.from(asset(mod, `${SEA_ASSET.uiPrefix}${name}`))
}

function asset(mod: SeaModule, key: string): ArrayBuffer {
  try {
    // getRawAsset returns the bytes inside the executable without a copy.
    const raw = mod.getRawAsset(key)
    return typeof raw === 'string' ? new TextEncoder().encode(raw).buffer : raw
  } catch {
    throw ERR.SEA_ASSET_MISSING(key)
  }
}

/**
 * Where extracted assets may go, best first: systemd's `CacheDirectory=` (writable under
 * `ProtectSystem=strict`, and not mounted noexec), the XDG cache, then a per-user temp
 * folder.
 */
export function cacheDirCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = []
  // systemd joins several CacheDirectory= entries with ':'.
  const systemd = env.CACHE_DIRECTORY?.split(':')[0]
  if (systemd) dirs.push(systemd)
  if (env.XDG_CACHE_HOME) dirs.push(join(env.XDG_CACHE_HOME, 'floxgate'))
  const home = env.HOME ?? safeHomedir()
  if (home && home !== '/') dirs.push(join(home, '.cache', 'floxgate'))
  dirs.push(join(tmpdir(), `floxgate-${process.getuid?.() ?? 'user'}`))
  return dirs
}

function safeHomedir(): string | undefined {
  try {
    return homedir()
  } catch {
    return undefined
  }
}

function shortHash(parts: Iterable<Uint8Array | string>): string {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest('hex').slice(0, 16)
}

/**
 * Writes `bytes` to `<dir>/<stem>-<hash><ext>` in the first candidate folder that takes
 * it, or reuses the file when an earlier run (or a concurrent process) wrote it. The
 * write goes to a temp name first and is renamed, so a reader never sees half a file.
 */
export function extractFile(bytes: Uint8Array, stem: string, ext: string, dirs: string[]): string {
  const name = `${stem}-${shortHash([bytes])}${ext}`
  const errors: string[] = []
  for (const dir of dirs) {
    const file = join(dir, name)
    try {
      if (existsSync(file) && statSync(file).size === bytes.byteLength) return file
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      const tmp = `${file}.${process.pid}.tmp`
      writeFileSync(tmp, bytes, { mode: 0o755 })
      renameSync(tmp, file)
      return file
    } catch (err) {
      errors.push(`${dir} (${(err as Error).message})`)
    }
  }
  throw ERR.SEA_EXTRACT_FAILED(name, errors.join(', '))
}

/**
 * Writes a set of files into `<dir>/<stem>-<hash>/` (hash over names and contents), built
 * under a temp name and renamed into place; reused when already there.
 */
export function extractFolder(
  files: Map<string, Uint8Array>,
  stem: string,
  dirs: string[],
): string {
  const sorted = [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const name = `${stem}-${shortHash(sorted.flatMap(([n, b]) => [n, '\0', b, '\0']))}`
  const errors: string[] = []
  for (const dir of dirs) {
    const target = join(dir, name)
    try {
      if (isComplete(target, sorted)) return target
      const tmp = `${target}.${process.pid}.tmp`
      rmSync(tmp, { recursive: true, force: true })
      mkdirSync(tmp, { recursive: true, mode: 0o700 })
      for (const [n, b] of sorted) writeFileSync(join(tmp, n), b)
      // A folder a crash left half written would block the rename: replace it.
      if (existsSync(target)) rmSync(target, { recursive: true, force: true })
      try {
        renameSync(tmp, target)
      } catch (err) {
        // Another process won the race: its folder has the same content.
        rmSync(tmp, { recursive: true, force: true })
        if (!isComplete(target, sorted)) throw err
      }
      return target
    } catch (err) {
      errors.push(`${dir} (${(err as Error).message})`)
    }
  }
  throw ERR.SEA_EXTRACT_FAILED(name, errors.join(', '))
}

function isComplete(dir: string, files: [string, Uint8Array][]): boolean {
  if (!existsSync(dir)) return false
  const present = new Set(readdirSync(dir))
  return files.every(([n, b]) => present.has(n) && statSync(join(dir, n)).size === b.byteLength)
}
