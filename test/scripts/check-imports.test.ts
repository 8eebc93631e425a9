import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

const script = join(import.meta.dirname, '..', '..', 'scripts', 'check-imports.mjs')

function check(srcDir?: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, srcDir === undefined ? [script] : [script, srcDir], {
    encoding: 'utf8',
  })
  return { status: r.status, output: r.stdout + r.stderr }
}

describe('scripts/check-imports.mjs', () => {
  let dir: string | undefined
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  function tree(files: Record<string, string>): string {
    dir = mkdtempSync(join(tmpdir(), 'floxgate-imports-'))
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true })
      writeFileSync(join(dir, path), text)
    }
    return dir
  }

  it('passes on src/ as it is', () => {
    const r = check()
    expect(r.output).toContain('every arrow points the right way')
    expect(r.status).toBe(0)
  })

  it('names each import that runs against the folder direction', () => {
    const src = tree({
      'engine/node.ts': "import { ERR } from '../errors.js'\nimport { x } from './fifo.js'\n",
      'engine/event/run.ts': "import type { Store } from '../../store/store.js'\n",
      'engine/fifo.ts': "import { readFileSync } from 'node:fs'\n",
      'gateway/units.ts': "import Database from 'better-sqlite3'\n",
      'gateway/profile.ts': "const { load } = await import('../config/load.js')\n",
      'gateway/topic.ts': "import { ok } from './units.js'\nimport { z } from 'zod'\n",
      'nodes/context.ts': "import type {\n  Logger,\n} from '../daemon/logger.js'\n",
      'store/store.ts': "export { thing } from '../nodes/events.js'\n",
      'daemon/run.ts': "import { Store } from '../store/store.js'\nimport 'node:fs'\n",
      'mqtt/endpoint.ts':
        "import { ERR } from '../errors.js'\nimport type { X } from '../uplink/options.js'\n",
      'notify/routing.ts': "import type { Config } from '../daemon/run.js'\n",
      'errors.ts':
        "import { ERR } from './engine/errors.js'\nimport { x } from './store/store.js'\n",
      'shed/tool.ts': 'export const x = 1\n',
    })
    const r = check(src)
    expect(r.status).toBe(1)
    expect(r.output).toContain('11 import(s) against the folder direction')
    for (const wrong of [
      'engine/node.ts: imports ../errors.js',
      'engine/event/run.ts: imports ../../store/store.js',
      'engine/fifo.ts: imports node:fs',
      'gateway/units.ts: imports better-sqlite3',
      'gateway/profile.ts: imports ../config/load.js',
      'nodes/context.ts: imports ../daemon/logger.js',
      'store/store.ts: imports ../nodes/events.js',
      'mqtt/endpoint.ts: imports ../uplink/options.js',
      'notify/routing.ts: imports ../daemon/run.js',
      'errors.ts: imports ./store/store.js',
      'shed/tool.ts: shed/ has no rule',
    ]) {
      expect(r.output).toContain(wrong)
    }
    expect(r.output).not.toContain('gateway/topic.ts')
    expect(r.output).not.toContain('daemon/run.ts')
  })
})
