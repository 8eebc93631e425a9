import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { Outbox } from '../../src/store/outbox.js'
import { tempDir } from '../helpers/tmp.js'
import { insertRows, openOutboxDb, outboxSeqs } from './outbox-db.js'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
})

function queue() {
  const { dir, cleanup } = tempDir('floxgate-outbox-')
  const db = openOutboxDb(join(dir, 'gw.db'))
  cleanups.push(cleanup, () => db.close())
  return { db, q: new Outbox(db) }
}

it('measures the backlog exactly, in O(1), through inserts and deletes on its connection', () => {
  const { db, q } = queue()
  expect(q.backlog()).toEqual({ rows: 0, bytes: 0, oldestCreatedAt: undefined })
  insertRows(db, 0, 1000)
  const first = q.next(0, 100)
  expect(q.deleteRange(first[0]!.id, first[99]!.id)).toBe(100)
  const counted = db
    .prepare('SELECT count(*) AS rows, sum(length(payload) + length(topic)) AS bytes FROM outbox')
    .get() as { rows: number; bytes: number }
  expect(q.backlog()).toMatchObject({ rows: 900, bytes: counted.bytes })
  expect(q.backlog().oldestCreatedAt).toBe(q.next(0, 1)[0]!.createdAt)
})

it('expires the head up to the first live row, and no further', () => {
  const { db, q } = queue()
  const old = Date.now() - 3_600_000
  insertRows(db, 0, 1700, { createdAt: old })
  insertRows(db, 1700, 10)
  insertRows(db, 1710, 5, { createdAt: old }) // after a clock jump: left for the sender
  expect(q.expire(Date.now() - 60_000, 0, 2)).toBe(512) // bounded: 2 chunks of 256
  expect(q.expire(Date.now() - 60_000)).toBe(1188)
  expect(outboxSeqs(db)).toEqual(Array.from({ length: 15 }, (_, i) => 1700 + i))
})
