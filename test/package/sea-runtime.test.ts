import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ERR, isError } from '../../src/errors.js'
import {
  cacheDirCandidates,
  devicesDir,
  extractFile,
  extractFolder,
  isSingleExecutable,
  SEA_ASSET,
  sqliteNativeBinding,
} from '../../src/ops/sea.js'
import { UI_FILES } from '../../src/ui/status-page.js'
import { tempDir } from '../helpers/tmp.js'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})
function scratch(): string {
  const { dir, cleanup } = tempDir('floxgate-sea-')
  cleanups.push(cleanup)
  return dir
}

describe('outside a single executable (the npm package)', () => {
  it('is not an SEA and lets better-sqlite3 find its own addon', () => {
    expect(isSingleExecutable()).toBe(false)
    expect(sqliteNativeBinding()).toBeUndefined()
  })

  it('points devicesDir at the package devices folder', () => {
    const dir = devicesDir()
    expect(dir.endsWith('devices')).toBe(true)
    expect(readdirSync(dir).some((n) => n.endsWith('.yaml'))).toBe(true)
  })
})

describe('cacheDirCandidates', () => {
  it("prefers systemd's CacheDirectory, then XDG, then ~/.cache, then a temp folder", () => {
    const dirs = cacheDirCandidates({
      CACHE_DIRECTORY: '/var/cache/floxgate:/var/cache/other',
      XDG_CACHE_HOME: '/x',
      HOME: '/home/pi',
    })
    expect(dirs.slice(0, 3)).toEqual([
      '/var/cache/floxgate',
      '/x/floxgate',
      '/home/pi/.cache/floxgate',
    ])
    expect(dirs).toHaveLength(4)
  })

  it('skips a home of / (systemd DynamicUser) and still offers a temp folder', () => {
    const dirs = cacheDirCandidates({ HOME: '/' })
    expect(dirs).toHaveLength(1)
    expect(dirs[0]).toMatch(/floxgate-/)
  })
})

describe('extractFile', () => {
  it('writes the bytes under a name carrying their hash, executable, and reuses it', () => {
    const dir = scratch()
    const bytes = new TextEncoder().encode('addon v1')
    const first = extractFile(bytes, 'better_sqlite3', '.node', [dir])
    expect(first).toMatch(/better_sqlite3-[0-9a-f]{16}\.node$/)
    expect(readFileSync(first, 'utf8')).toBe('addon v1')
    expect(readdirSync(dir)).toEqual([first.slice(dir.length + 1)]) // no temp file left

    expect(extractFile(bytes, 'better_sqlite3', '.node', [dir])).toBe(first)
    const second = extractFile(new TextEncoder().encode('addon v2'), 'better_sqlite3', '.node', [
      dir,
    ])
    expect(second).not.toBe(first)
  })

  it('rewrites a truncated file left by a crash', () => {
    const dir = scratch()
    const bytes = new TextEncoder().encode('complete addon')
    const file = extractFile(bytes, 'a', '.node', [dir])
    writeFileSync(file, 'comp')
    expect(extractFile(bytes, 'a', '.node', [dir])).toBe(file)
    expect(readFileSync(file, 'utf8')).toBe('complete addon')
  })

  it('falls through an unusable folder to the next one', () => {
    const base = scratch()
    const blocked = join(base, 'file-not-dir')
    writeFileSync(blocked, '')
    const ok = join(base, 'ok')
    const file = extractFile(new Uint8Array([1, 2, 3]), 'a', '.node', [join(blocked, 'sub'), ok])
    expect(file.startsWith(ok)).toBe(true)
  })

  it('names every folder it tried when none works', () => {
    const base = scratch()
    const blocked = join(base, 'file-not-dir')
    writeFileSync(blocked, '')
    let caught: unknown
    try {
      extractFile(new Uint8Array([1]), 'a', '.node', [join(blocked, 'x'), join(blocked, 'y')])
    } catch (err) {
      caught = err
    }
    expect(isError(caught, ERR.SEA_EXTRACT_FAILED)).toBe(true)
    expect((caught as Error).message).toContain(join(blocked, 'y'))
  })
})

describe('extractFolder', () => {
  const files = () =>
    new Map([
      ['dht22.yaml', new TextEncoder().encode('class: dht22\n')],
      ['sht31.yaml', new TextEncoder().encode('class: sht31\n')],
    ])

  it('writes all files into one folder named by their hash and reuses it', () => {
    const dir = scratch()
    const out = extractFolder(files(), 'devices', [dir])
    expect(out).toMatch(/devices-[0-9a-f]{16}$/)
    expect(readdirSync(out).sort()).toEqual(['dht22.yaml', 'sht31.yaml'])
    expect(readFileSync(join(out, 'sht31.yaml'), 'utf8')).toBe('class: sht31\n')
    expect(extractFolder(files(), 'devices', [dir])).toBe(out)
    expect(readdirSync(dir)).toEqual([out.slice(dir.length + 1)])
  })

  it('gives changed profiles a new folder', () => {
    const dir = scratch()
    const a = extractFolder(files(), 'devices', [dir])
    const changed = files()
    changed.set('dht22.yaml', new TextEncoder().encode('class: dht22\nmax: 80\n'))
    expect(extractFolder(changed, 'devices', [dir])).not.toBe(a)
  })

  it('repairs a folder that a crash left half written', () => {
    const dir = scratch()
    const out = extractFolder(files(), 'devices', [dir])
    writeFileSync(join(out, 'sht31.yaml'), '')
    expect(extractFolder(files(), 'devices', [dir])).toBe(out)
    expect(readFileSync(join(out, 'sht31.yaml'), 'utf8')).toBe('class: sht31\n')
  })
})

describe('scripts/package-sea-config.mjs', () => {
  it('embeds every status page file the server serves, from the file the npm package serves', () => {
    const dir = scratch()
    const config = join(dir, 'sea-config.json')
    execFileSync(process.execPath, [
      'scripts/package-sea-config.mjs',
      config,
      join(dir, 'bundle.cjs'),
      join(dir, 'addon.node'),
      'devices',
      join(dir, 'sea.blob'),
      'false',
    ])
    const assets = (JSON.parse(readFileSync(config, 'utf8')) as { assets: Record<string, string> })
      .assets
    const need = createRequire(import.meta.url)
    for (const file of UI_FILES) {
      const embedded = assets[`${SEA_ASSET.uiPrefix}${file.name}`]
      expect(embedded, `asset ui/${file.name}`).toBeDefined()
      const served = file.source.startsWith('ui/')
        ? resolve(file.source)
        : need.resolve(file.source)
      expect(realpathSync(embedded!)).toBe(realpathSync(served))
    }
    expect(assets['devices/dht22.yaml']).toBe(resolve('devices/dht22.yaml'))
  })
})
