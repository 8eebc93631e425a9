import { expect, it } from 'vitest'
import { SendWindow } from '../../src/uplink/send-window.js'

it('releases only the acknowledged prefix when PUBACKs come out of order', () => {
  const w = new SendWindow()
  const [a, b, c, d] = [10, 11, 12, 13].map((id) => w.push(id, 0))
  w.ack(c!)
  w.ack(b!)
  expect(w.ackedRange()).toBeUndefined() // row 10 still unacknowledged: nothing may go
  expect(w.oldestUnacked()?.id).toBe(10)
  w.ack(a!)
  expect(w.ackedRange()).toEqual({ first: 10, last: 12, rows: 3 })
  w.dropAcked()
  expect(w.length).toBe(1)
  expect(w.oldestUnacked()?.id).toBe(13)
  w.ack(d!)
  expect(w.ackedRange()).toEqual({ first: 13, last: 13, rows: 1 })
  w.clear()
  expect(w.length).toBe(0)
  expect(w.ackedRange()).toBeUndefined()
})
