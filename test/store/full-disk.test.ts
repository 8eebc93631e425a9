import { execFileSync } from 'node:child_process'
import { closeSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ERR, isError } from '../../src/errors.js'
import { openStore, type Store } from '../../src/store/index.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import { reading, readingItem, T0, tempStore, writeAndWait } from './fixtures.js'

let cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.reverse()) c()
  cleanups = []
})

/** Writes readings until one write's callback reports an error; returns that error. */
async function writeUntilRefused(store: Store, from: number): Promise<{ err: Error; n: number }> {
  for (let i = 0; i < 200_000; i += 500) {
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, k) =>
        writeAndWait(
          store,
          readingItem({
            reading: reading(`d${k % 20}`, T0 + from + i + k, k),
          }),
        ),
      ),
    )
    const err = results.find((r) => r !== null)
    if (err) return { err, n: i }
  }
  throw new Error('the store never reported a full database')
}

describe('full disk', () => {
  it('SQLITE_FULL (max_page_count): callbacks get the error, writes are refused, then it recovers', async () => {
    const t = tempStore({ batchMaxDelayMs: 5, retryDelayMs: 20, maxRetryRows: 1000 })
    cleanups.push(t.cleanup)
    const pages = t.store.database.pragma('page_count', { simple: true }) as number
    t.store.database.pragma(`max_page_count = ${pages + 40}`)
    const { err } = await writeUntilRefused(t.store, 0)
    expect(isError(err, ERR.STORE_FULL)).toBe(true)
    expect(err.message).toContain(t.file)
    const health = t.store.health()
    expect(health.ok).toBe(false)
    // While unhealthy, a new write is refused at once (not acknowledged) but kept for retry.
    const refused = await writeAndWait(
      t.store,
      readingItem({
        reading: reading('late', T0 - 1),
      }),
    )
    expect(isError(refused, ERR.STORE_FULL)).toBe(true)
    const before = t.store.counts().readings
    expect(t.store.stats().retrying).toBeGreaterThan(0)

    // Space returns: the retry timer commits the kept rows and health recovers.
    t.store.database.pragma('max_page_count = 1000000')
    await waitFor(() => t.store.health().ok, { what: 'store healthy again' })
    expect(t.store.stats().retrying).toBe(0)
    const latest = t.store.latestReadings().find((r) => r.device === 'late')
    expect(latest?.ts).toBe(T0 - 1)
    expect(t.store.counts().readings).toBeGreaterThan(before)
    expect(await writeAndWait(t.store, readingItem({ reading: reading('d1', T0 - 5) }))).toBeNull()
  })

  it('bounds the rows kept in memory while the disk is full and counts the rest', async () => {
    const t = tempStore({ batchMaxDelayMs: 5, retryDelayMs: 60_000, maxRetryRows: 100 })
    cleanups.push(t.cleanup)
    const pages = t.store.database.pragma('page_count', { simple: true }) as number
    t.store.database.pragma(`max_page_count = ${pages + 20}`)
    await writeUntilRefused(t.store, 0)
    const errors = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        writeAndWait(t.store, readingItem({ reading: reading('x', T0 + 10_000_000 + i) })),
      ),
    )
    expect(errors.every((e) => e !== null)).toBe(true)
    expect(t.store.stats().retrying).toBe(100)
    expect(t.store.stats().droppedUnhealthy).toBeGreaterThanOrEqual(300)
    expect(t.store.outboxStats().dropped.unhealthy).toBe(t.store.stats().droppedUnhealthy)
  })

  const canMount = (() => {
    if (process.getuid?.() !== 0) return false
    const t = tempDir('floxgate-mnt-probe-')
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', t.dir], { stdio: 'ignore' })
      execFileSync('umount', [t.dir], { stdio: 'ignore' })
      return true
    } catch {
      return false
    } finally {
      t.cleanup()
    }
  })()

  it.skipIf(!canMount)(
    'a real full file system (2 MiB tmpfs): refused, then recovers when space is freed',
    async () => {
      const t = tempDir('floxgate-mnt-')
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', t.dir])
      cleanups.push(() => {
        execFileSync('umount', ['-l', t.dir])
        t.cleanup()
      })
      const file = join(t.dir, 'floxgate.db')
      const store = openStore({ file, batchMaxDelayMs: 5, retryDelayMs: 20 })
      cleanups.push(() => store.close())
      // Fill the rest of the file system with another file.
      const filler = join(t.dir, 'filler')
      const fd = openSync(filler, 'w')
      const block = Buffer.alloc(16 * 1024, 1)
      try {
        for (;;) writeSync(fd, block)
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC')
      } finally {
        closeSync(fd)
      }
      const { err } = await writeUntilRefused(store, 0)
      expect(isError(err, ERR.STORE_FULL) || isError(err, ERR.STORE_WRITE_FAILED)).toBe(true)
      expect(store.health().ok).toBe(false)
      rmSync(filler)
      await waitFor(() => store.health().ok, { what: 'store healthy after space returned' })
      expect(await writeAndWait(store, readingItem({ reading: reading('after', T0) }))).toBeNull()
      expect(store.latestReadings().some((r) => r.device === 'after')).toBe(true)
    },
  )
})
