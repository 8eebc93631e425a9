import { describe, expect, it } from 'vitest'
import { ERR, isError } from '../../src/errors.js'
import { node, Outcome, Workflow } from '../../src/index.js'

interface Ctx {
  n: number
}
type A = 'again' | 'done'

/** counter: loops back to itself via 'again' until n reaches `until`. */
function loop(until: number, maxVisits?: number) {
  const counter = node<Ctx, A>('counter', (ctx) => {
    ctx.n++
    return Outcome.route(ctx.n < until ? 'again' : 'done')
  })
  const end = node<Ctx, A>('end', (ctx) => Outcome.success(ctx.n))
  return new Workflow<Ctx, A>(counter, maxVisits === undefined ? {} : { maxVisits })
    .addNode(end)
    .setRoute('counter', 'again', 'counter')
    .setRoute('counter', 'done', 'end')
}

describe('cycle guard', () => {
  it('refuses a cycle by default, naming the node', async () => {
    const ctx = { n: 0 }
    const err = await loop(3)
      .run(ctx)
      .catch((e: unknown) => e)
    expect(isError(err, ERR.ENGINE_CYCLE_DETECTED)).toBe(true)
    expect(String(err)).toContain("'counter'")
    expect(ctx.n).toBe(1)
  })

  it('allows a loop within the visit limit', async () => {
    const res = await loop(5, 5).run({ n: 0 })
    expect(res.output).toBe(5)
    expect(res.path).toEqual(['counter', 'counter', 'counter', 'counter', 'counter', 'end'])
  })

  it('stops a loop past the visit limit', async () => {
    const ctx = { n: 0 }
    const err = await loop(100, 5)
      .run(ctx)
      .catch((e: unknown) => e)
    expect(isError(err, ERR.ENGINE_CYCLE_DETECTED)).toBe(true)
    expect(String(err)).toContain('more than 5 times')
    expect(ctx.n).toBe(5)
  })
})
