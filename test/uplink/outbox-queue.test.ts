import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { OutboxQueue } from '../../src/uplink/index.js'
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
  return { db, q: new OutboxQueue(db) }
}

it('estimates the backlog from the id range and a head sample, close to the exact count', () => {
  const { db, q } = queue()
  expect(q.estimate()).toEqual({ rows: 0, bytes: 0, oldestCreatedAt: undefined })
  insertRows(db, 0, 1000)
  const first = q.next(0, 100)
  expect(q.deleteRange(first[0]!.id, first[99]!.id)).toBe(100)
  const exact = q.backlog()
  const est = q.estimate()
  expect(exact.rows).toBe(900)
  expect(est.rows).toBe(900)
  expect(Math.abs(est.bytes - exact.bytes) / exact.bytes).toBeLessThan(0.05)
  expect(est.oldestCreatedAt).toBe(exact.oldestCreatedAt)
})

it('expires the head up to the first live row, and no further', () => {
  const { db, q } = queue()
  const old = Date.now() - 3_600_000
  insertRows(db, 0, 1700, { createdAt: old })
  insertRows(db, 1700, 10)
  insertRows(db, 1710, 5, { createdAt: old }) // after a clock jump: left for the sender
  expect(q.expireHead(0, Date.now() - 60_000, 2)).toBe(1000) // bounded: 2 chunks of 500
  expect(q.expireHead(0, Date.now() - 60_000)).toBe(700)
  expect(outboxSeqs(db)).toEqual(Array.from({ length: 15 }, (_, i) => 1700 + i))
})
