import { describe, expect, it } from 'vitest'
import { AckSequence } from '../../src/broker/ack-sequence.js'

describe('AckSequence', () => {
  it('releases in arrival order whatever the ack order', () => {
    const released: number[] = []
    const seq = new AckSequence(() => {})
    const acks = [0, 1, 2, 3].map((i) => seq.add(() => released.push(i)))
    acks[2]!()
    acks[1]!()
    expect(released).toEqual([])
    acks[0]!()
    expect(released).toEqual([0, 1, 2])
    acks[3]!()
    acks[3]!()
    expect(released).toEqual([0, 1, 2, 3])
    expect(seq.pending).toBe(0)
  })

  it('fails the connection on an error ack: nothing pending is acknowledged', () => {
    const out: string[] = []
    let failed = 0
    const seq = new AckSequence(() => failed++)
    const a = seq.add((e) => out.push(`a:${e ? 'err' : 'ok'}`))
    const b = seq.add((e) => out.push(`b:${e ? 'err' : 'ok'}`))
    b(new Error('disk full'))
    a()
    seq.add((e) => out.push(`c:${e ? 'err' : 'ok'}`))
    expect(out).toEqual(['a:err', 'b:err', 'c:err'])
    expect(failed).toBe(1)
  })
})
