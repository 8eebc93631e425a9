import { type ChildProcess, execSync, spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startMosquitto } from '../helpers/mosquitto.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import { insertRows, openOutboxDb, outboxCount, outboxSeqs } from './outbox-db.js'
import { checkSequence, subscribeUpstream } from './upstream.js'

const root = join(import.meta.dirname, '../..')
const child = join(import.meta.dirname, 'fixtures/forwarder-child.mjs')
const cleanups: (() => Promise<void> | void)[] = []

/** Newest modification time of the sources the child runs. */
function sourceMtime(): number {
  const dir = join(root, 'src/uplink')
  const files = [...readdirSync(dir).map((f) => join(dir, f)), join(root, 'src/errors.ts')]
  return Math.max(...files.map((f) => statSync(f).mtimeMs))
}

beforeAll(() => {
  const built = join(root, 'build/uplink/forwarder.js')
  if (!existsSync(built) || statSync(built).mtimeMs < sourceMtime()) {
    try {
      execSync('npm run build', { cwd: root, stdio: 'pipe' })
    } catch {
      // Type errors elsewhere in the tree still emit JavaScript; freshness is checked below.
    }
  }
  expect(existsSync(built) && statSync(built).mtimeMs >= sourceMtime()).toBe(true)
})

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

it('loses nothing when the forwarder process is SIGKILLed mid-drain, three times', async () => {
  const mosq = await startMosquitto()
  cleanups.push(() => mosq.close())
  const { dir, cleanup } = tempDir('floxgate-uplink-kill-')
  const file = join(dir, 'gw.db')
  const db = openOutboxDb(file)
  cleanups.push(cleanup, () => {
    db.close()
  })
  const up = await subscribeUpstream(mosq.url, 'kill', 'consumer-kill')
  cleanups.push(() => up.close())
  const total = 3000
  const inflight = 64
  insertRows(db, 0, total)

  function spawnForwarder(rate: number): ChildProcess {
    const proc = spawn(process.execPath, [child], {
      env: {
        ...process.env,
        FLX_DB: file,
        FLX_URL: mosq.url,
        FLX_PREFIX: 'kill',
        FLX_CLIENT_ID: 'gw-child',
        FLX_INFLIGHT: String(inflight),
        FLX_RATE: String(rate),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    cleanups.push(() => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    })
    return proc
  }

  // Paced so each kill lands while a large backlog is still draining.
  for (const killAt of [500, 1200, 1900]) {
    const proc = spawnForwarder(800)
    const exited = new Promise((r) => proc.once('exit', r))
    await waitFor(() => up.unique() >= killAt, { what: `${killAt} rows upstream` })
    proc.kill('SIGKILL')
    await exited
    // The broker publishes the Last Will: the gateway shows offline upstream.
    await waitFor(() => up.statuses.at(-1)?.state === 'offline', { what: 'Last Will offline' })
    // Nothing lost: every row not yet seen upstream is still in the outbox.
    const remaining = new Set(outboxSeqs(db))
    const seen = new Set(up.received.map((r) => r.seq))
    const missing = Array.from({ length: total }, (_, i) => i).filter(
      (i) => !seen.has(i) && !remaining.has(i),
    )
    expect(missing).toEqual([])
    expect(remaining.size).toBeGreaterThan(0)
  }

  const last = spawnForwarder(0)
  let out = ''
  last.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  await waitFor(() => up.unique() === total, {
    what: `all ${total} rows upstream`,
    timeoutMs: 30_000,
  })
  await waitFor(() => outboxCount(db) === 0, { what: 'outbox drained' })
  const exited = new Promise((r) => last.once('exit', r))
  last.kill('SIGTERM')
  expect(await exited).toBe(0)
  const finalStats = JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as {
    backlogRows: number
  }
  expect(finalStats.backlogRows).toBe(0)
  await waitFor(() => up.statuses.at(-1)?.state === 'offline', {
    what: 'offline status after stop',
  })

  const check = checkSequence(up.received.map((r) => r.seq))
  expect(check.gaps).toEqual([])
  expect(check.unique).toBe(total)
  // A crash can re-send at most the in-flight window (acked rows awaiting deletion included).
  expect(check.duplicates).toBeLessThanOrEqual(3 * inflight)
})
