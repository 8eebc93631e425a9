/**
 * An alert's notifications are written in the same transaction as the alert event
 * (issue 13): either both are stored or neither. A trigger that fails every insert into
 * `notifications` stands in for a failure between the two writes.
 */
import Database from 'better-sqlite3'
import { afterEach, expect, it } from 'vitest'
import type { AlertEvent } from '../../src/gateway/reading.js'
import { T0, tempStore, writeAndWait } from './fixtures.js'

let t: ReturnType<typeof tempStore> | undefined
afterEach(() => {
  t?.cleanup()
  t = undefined
})

const raised: AlertEvent = {
  gateway: 'gw',
  device: 'loft',
  metric: 'temperature',
  rule: 'overheat',
  kind: 'high',
  severity: 'critical',
  state: 'raised',
  value: 41,
  threshold: 40,
  ts: T0,
  since: T0,
}

function counts(file: string): { events: number; active: number; notifications: number } {
  // A second connection sees only what was committed.
  const db = new Database(file, { readonly: true })
  try {
    const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n
    return {
      events: n('SELECT count(*) AS n FROM alert_events'),
      active: n('SELECT count(*) AS n FROM alert_state'),
      notifications: n('SELECT count(*) AS n FROM notifications'),
    }
  } finally {
    db.close()
  }
}

it('an alert event and its notifications commit together or not at all', async () => {
  t = tempStore({ batchMaxDelayMs: 1 })
  const notifications = [
    { sink: 'phone', payload: '{"rule":"overheat"}' },
    { sink: 'ops', payload: '{"rule":"overheat"}' },
  ]
  t.store.database.exec(
    `CREATE TRIGGER fail_notifications BEFORE INSERT ON notifications WHEN NEW.sink = 'ops'
     BEGIN SELECT RAISE(ABORT, 'notifications unavailable'); END`,
  )
  const err = await writeAndWait(t.store, { kind: 'alert', alert: raised, notifications })
  expect(err?.message).toMatch(/notifications unavailable/)
  // The second notification's failure rolled back the event, the state and the first one.
  expect(counts(t.file)).toEqual({ events: 0, active: 0, notifications: 0 })

  t.store.database.exec('DROP TRIGGER fail_notifications')
  expect(await writeAndWait(t.store, { kind: 'alert', alert: raised, notifications })).toBeNull()
  expect(counts(t.file)).toEqual({ events: 1, active: 1, notifications: 2 })
})
