import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ERR, isError } from '../../src/errors.js'
import { openStore, quarantineCorruptFile } from '../../src/store/index.js'
import { tempDir } from '../helpers/tmp.js'
import { reading, readingItem, T0 } from './fixtures.js'

let cleanup: () => void = () => {}
afterEach(() => cleanup())

/** A closed, checkpointed store file with enough readings to span many pages. */
function populatedFile(): string {
  const t = tempDir('floxgate-store-')
  cleanup = t.cleanup
  const file = join(t.dir, 'floxgate.db')
  const store = openStore({ file })
  for (let i = 0; i < 20_000; i++) {
    store.write(readingItem({ reading: reading(`d${i % 10}`, T0 + i, i / 7) }))
  }
  store.close()
  expect(existsSync(`${file}-wal`)).toBe(false)
  return file
}

function openError(file: string): Error {
  try {
    openStore({ file }).close()
  } catch (err) {
    return err as Error
  }
  throw new Error('the store opened a damaged file')
}

function expectCorruptError(err: Error, file: string): void {
  expect(isError(err, ERR.STORE_CORRUPT)).toBe(true)
  expect(err.message).toContain(file)
  expect(err.message).toContain(`mv ${file} ${file}.corrupt-`)
}

function overwrite(file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+')
  writeSync(fd, bytes, 0, bytes.length, offset)
  closeSync(fd)
}

describe('a damaged database file at open', () => {
  it('not a SQLite file', () => {
    const t = tempDir('floxgate-store-')
    cleanup = t.cleanup
    const file = join(t.dir, 'floxgate.db')
    writeFileSync(file, 'these are my notes, not a database\n'.repeat(10))
    expectCorruptError(openError(file), file)
  })

  it('garbage in the header', () => {
    const file = populatedFile()
    overwrite(file, 16, Buffer.alloc(84, 0xa5))
    expectCorruptError(openError(file), file)
  })

  it('truncated to a few bytes, and truncated in the middle', () => {
    const file = populatedFile()
    const size = statSync(file).size
    truncateSync(file, Math.floor(size / 2))
    expectCorruptError(openError(file), file)
    truncateSync(file, 50)
    expectCorruptError(openError(file), file)
  })

  it('a page torn in the middle of the file', () => {
    const file = populatedFile()
    const pageSize = 1024
    const pages = statSync(file).size / pageSize
    overwrite(file, Math.floor(pages / 2) * pageSize + 100, Buffer.alloc(600, 0x5a))
    expectCorruptError(openError(file), file)
  })

  it('quarantineCorruptFile moves it aside so the next open starts fresh', () => {
    const t = tempDir('floxgate-store-')
    cleanup = t.cleanup
    const file = join(t.dir, 'floxgate.db')
    writeFileSync(file, 'x'.repeat(500))
    writeFileSync(`${file}-wal`, 'y')
    const moved = quarantineCorruptFile(file, new Date('2026-11-26T01:02:03.456Z'))
    expect(moved).toBe(`${file}.corrupt-20261126T010203Z`)
    expect(readdirSync(t.dir).sort()).toEqual([
      'floxgate.db.corrupt-20261126T010203Z',
      'floxgate.db.corrupt-20261126T010203Z-wal',
    ])
    const store = openStore({ file })
    expect(store.counts().readings).toBe(0)
    store.close()
  })
})
