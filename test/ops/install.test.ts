import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/index.js'
import { tempDir } from '../helpers/tmp.js'

const REPO = join(import.meta.dirname, '../..')

/**
 * A source tree shaped like the repository: the real installer, unit and sysusers
 * entry, with a stand-in executable and example config (the installer copies them
 * byte for byte; their contents do not matter here).
 */
function sourceTree(dir: string): { script: string; exe: string } {
  mkdirSync(join(dir, 'scripts'))
  mkdirSync(join(dir, 'systemd'))
  mkdirSync(join(dir, 'config'))
  mkdirSync(join(dir, 'dist'))
  const script = join(dir, 'scripts/install.sh')
  copyFileSync(join(REPO, 'scripts/install.sh'), script)
  chmodSync(script, 0o755)
  for (const f of ['floxgate.service', 'floxgate.sysusers']) {
    copyFileSync(join(REPO, 'systemd', f), join(dir, 'systemd', f))
  }
  writeFileSync(join(dir, 'config/floxgate.example.yaml'), 'gateway:\n  id: example\n')
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64'
  const exe = join(dir, `dist/floxgate-linux-${arch}`)
  writeFileSync(exe, '#!/bin/sh\necho floxgate 1\n', { mode: 0o755 })
  return { script, exe }
}

function run(script: string, root: string, args: string[] = []) {
  const r = spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DESTDIR: root },
  })
  return { status: r.status, stderr: r.stderr }
}

const mode = (p: string) => statSync(p).mode & 0o777

/** Every file under `dir`, relative, sorted: catches stray temp files. */
function tree(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = join(dir, e.name)
      return e.isDirectory() ? tree(p, base) : [p.slice(base.length + 1)]
    })
    .sort()
}

describe('scripts/install.sh', () => {
  const cleanups: (() => void)[] = []
  afterEach(() => {
    for (const c of cleanups.splice(0)) c()
  })
  function dirs() {
    const src = tempDir('floxgate-src-')
    const root = tempDir('floxgate-root-')
    cleanups.push(src.cleanup, root.cleanup)
    return { ...sourceTree(src.dir), root: root.dir }
  }

  it('installs into DESTDIR, idempotently, keeps an edited config, and uninstalls', () => {
    const { script, exe, root } = dirs()
    const first = run(script, root)
    expect(first.stderr).toContain(
      'DESTDIR is set: not creating the user and not running systemctl',
    )
    expect(first.status).toBe(0)

    const expected = [
      'etc/floxgate/floxgate.yaml',
      'etc/systemd/system/floxgate.service',
      'etc/sysusers.d/floxgate.conf',
      'usr/local/bin/floxgate',
    ]
    expect(tree(root)).toEqual(expected)
    expect(mode(join(root, 'usr/local/bin/floxgate'))).toBe(0o755)
    expect(mode(join(root, 'etc/systemd/system/floxgate.service'))).toBe(0o644)
    expect(mode(join(root, 'etc/sysusers.d/floxgate.conf'))).toBe(0o644)
    expect(mode(join(root, 'etc/floxgate/floxgate.yaml'))).toBe(0o640)
    expect(readFileSync(join(root, 'usr/local/bin/floxgate'), 'utf8')).toContain('floxgate 1')
    const unit = readFileSync(join(root, 'etc/systemd/system/floxgate.service'), 'utf8')
    expect(unit).toBe(readFileSync(join(REPO, 'systemd/floxgate.service'), 'utf8'))

    // Twice: same result, no leftovers.
    const second = run(script, root)
    expect(second.status).toBe(0)
    expect(second.stderr).toContain('kept the existing')
    expect(tree(root)).toEqual(expected)

    // An operator's edits survive an upgrade; the binary is replaced.
    writeFileSync(join(root, 'etc/floxgate/floxgate.yaml'), 'gateway:\n  id: greenhouse-3\n')
    writeFileSync(exe, '#!/bin/sh\necho floxgate 2\n', { mode: 0o755 })
    expect(run(script, root).status).toBe(0)
    expect(readFileSync(join(root, 'etc/floxgate/floxgate.yaml'), 'utf8')).toContain('greenhouse-3')
    expect(readFileSync(join(root, 'usr/local/bin/floxgate'), 'utf8')).toContain('floxgate 2')

    // Uninstall keeps config and data.
    mkdirSync(join(root, 'var/lib/floxgate'), { recursive: true })
    writeFileSync(join(root, 'var/lib/floxgate/floxgate.db'), 'data')
    const un = run(script, root, ['--uninstall'])
    expect(un.status).toBe(0)
    expect(tree(root)).toEqual(['etc/floxgate/floxgate.yaml', 'var/lib/floxgate/floxgate.db'])
    expect(run(script, root, ['--uninstall']).status).toBe(0)

    // --purge removes them too.
    expect(run(script, root, ['--uninstall', '--purge']).status).toBe(0)
    expect(existsSync(join(root, 'etc/floxgate'))).toBe(false)
    expect(existsSync(join(root, 'var/lib/floxgate'))).toBe(false)
  })

  it('follows --prefix and --binary into the unit', () => {
    const { script, root } = dirs()
    const elsewhere = tempDir('floxgate-exe-')
    cleanups.push(elsewhere.cleanup)
    const other = join(elsewhere.dir, 'floxgate')
    writeFileSync(other, '#!/bin/sh\necho other\n', { mode: 0o755 })
    const r = run(script, root, ['--prefix', '/opt/floxgate', '--binary', other])
    expect(r.status).toBe(0)
    expect(readFileSync(join(root, 'opt/floxgate/bin/floxgate'), 'utf8')).toContain('other')
    const unit = readFileSync(join(root, 'etc/systemd/system/floxgate.service'), 'utf8')
    expect(unit).toMatch(/^ExecStart=\/opt\/floxgate\/bin\/floxgate start --config /m)
    expect(unit).not.toContain('/usr/local/bin/floxgate')
  })

  it('refuses a missing binary, a relative prefix and unknown options with a clear message', () => {
    const { script, root } = dirs()
    const missing = run(script, root, ['--binary', '/nonexistent/floxgate'])
    expect(missing.status).not.toBe(0)
    expect(missing.stderr).toContain('--binary /nonexistent/floxgate: no such file')
    const rel = run(script, root, ['--prefix', 'usr'])
    expect(rel.status).not.toBe(0)
    expect(rel.stderr).toContain('--prefix must be an absolute path')
    const unknown = run(script, root, ['--frobnicate'])
    expect(unknown.status).not.toBe(0)
    expect(unknown.stderr).toContain('unknown option: --frobnicate')
    expect(run(script, root, ['--purge']).stderr).toContain('--purge only goes with --uninstall')
    expect(tree(root)).toEqual([])
  })
})

describe('the installed config', () => {
  it('puts the data where the service keeps it, so status and export find the same database', () => {
    const src = tempDir('floxgate-src-')
    const root = tempDir('floxgate-root-')
    try {
      const { script } = sourceTree(src.dir)
      // the real example, as a release carries it
      writeFileSync(
        join(src.dir, 'config/floxgate.example.yaml'),
        readFileSync(join(REPO, 'config/floxgate.example.yaml')),
      )
      expect(run(script, root.dir).status).toBe(0)
      const installed = join(root.dir, 'etc/floxgate/floxgate.yaml')
      expect(readFileSync(installed, 'utf8')).toMatch(/^ {2}dataDir: \/var\/lib\/floxgate /m)
      const fromShell = loadConfig(installed, {})
      const underSystemd = loadConfig(installed, { STATE_DIRECTORY: '/var/lib/floxgate' })
      expect(fromShell.store.file).toBe('/var/lib/floxgate/floxgate.db')
      expect(underSystemd.store.file).toBe(fromShell.store.file)
    } finally {
      src.cleanup()
      root.cleanup()
    }
  })
})
