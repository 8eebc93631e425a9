import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { ERR, isError } from '../../src/errors.js'
import { migrate, openStore, SCHEMA_VERSION } from '../../src/store/index.js'
import { tempDir } from '../helpers/tmp.js'
import { T0 } from './fixtures.js'

let cleanup: () => void = () => {}
afterEach(() => cleanup())

describe('schema migrations', () => {
  it('brings a version 1 file up to date and keeps its rows', () => {
    const t = tempDir('floxgate-store-')
    cleanup = t.cleanup
    const file = join(t.dir, 'v1.db')
    const old = new Database(file)
    old.pragma('journal_mode = WAL')
    expect(migrate(old, 1)).toEqual([1])
    old.prepare("INSERT INTO series (id, device, metric) VALUES (1, 'd1', 'temperature')").run()
    old.prepare('INSERT INTO readings VALUES (?, 1, 20.5, 0), (?, 1, 22.5, 0)').run(T0, T0 + 1000)
    old.close()

    const store = openStore({ file })
    try {
      expect(store.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
      expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(2)
      expect(store.counts().readings).toBe(2)
      // Migration 2 filled the latest-reading table from the old rows.
      expect(store.latestReadings()).toEqual([
        { device: 'd1', metric: 'temperature', ts: T0 + 1000, value: 22.5 },
      ])
      expect(store.outboxStats().rows).toBe(0)
    } finally {
      store.close()
    }
  })

  it('is idempotent: reopening runs nothing', () => {
    const t = tempDir('floxgate-store-')
    cleanup = t.cleanup
    const file = join(t.dir, 'f.db')
    openStore({ file }).close()
    const db = new Database(file)
    expect(migrate(db)).toEqual([])
    db.close()
  })

  it('refuses a file from a newer floxgate with a clear error', () => {
    const t = tempDir('floxgate-store-')
    cleanup = t.cleanup
    const file = join(t.dir, 'f.db')
    openStore({ file }).close()
    const db = new Database(file)
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    db.close()
    let caught: unknown
    try {
      openStore({ file }).close()
    } catch (err) {
      caught = err
    }
    expect(isError(caught, ERR.STORE_NEWER_SCHEMA)).toBe(true)
    expect((caught as Error).message).toContain(file)
  })
})
