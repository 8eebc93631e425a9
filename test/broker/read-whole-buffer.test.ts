import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { readWholeBuffer } from '../../src/broker/read-whole-buffer.js'

// aedes reads a connection once per 'readable'; on Node 26 a bare read() returned one
// chunk, so a CONNECT sent in several chunks was left half read (websocket connack timeout).
describe('readWholeBuffer', () => {
  it('returns every buffered chunk from one read()', () => {
    const s = readWholeBuffer(new PassThrough())
    s.write(Buffer.from([1]))
    s.write(Buffer.from([2, 3]))
    s.write(Buffer.from([4]))
    expect([...(s.read() as Buffer)]).toEqual([1, 2, 3, 4])
    expect(s.read()).toBeNull()
  })

  it('keeps read(size) as it is', () => {
    const s = readWholeBuffer(new PassThrough())
    s.write(Buffer.from([1, 2, 3]))
    expect([...(s.read(2) as Buffer)]).toEqual([1, 2])
  })
})
