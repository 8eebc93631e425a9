import { describe, expect, expectTypeOf, it } from 'vitest'
import { ERR, isError } from '../../src/errors.js'
import { type Node, node, Outcome, Workflow } from '../../src/index.js'

interface Ctx {
  value: number
  log: string[]
}

const step = (id: string, f: (v: number) => number): Node<Ctx> =>
  node(id, (ctx) => {
    ctx.value = f(ctx.value)
    ctx.log.push(id)
    return Outcome.success(ctx.value)
  })

describe('standard workflow', () => {
  it('runs a linear workflow: 10 -> +1 -> x2 -> -3 = 19', async () => {
    const wf = new Workflow<Ctx>(step('add', (v) => v + 1))
      .addNode(step('double', (v) => v * 2))
      .addNode(step('sub', (v) => v - 3))
      .setDefaultRoute('add', 'double')
      .setDefaultRoute('double', 'sub')
    const ctx = { value: 10, log: [] }
    const res = await wf.run(ctx)
    expect(ctx.value).toBe(19)
    expect(res).toEqual({
      status: 'success',
      output: 19,
      lastNodeId: 'sub',
      path: ['add', 'double', 'sub'],
    })
  })

  it('routes by a custom action', async () => {
    type A = 'even' | 'odd' | 'default'
    const check = node<Ctx, A>('check', (ctx) =>
      Outcome.route(ctx.value % 2 === 0 ? 'even' : 'odd'),
    )
    const mark = (id: string) =>
      node<Ctx, A>(id, (ctx) => {
        ctx.log.push(id)
        return Outcome.success(id)
      })
    const build = () =>
      new Workflow<Ctx, A>(check)
        .addNode(mark('on-even'))
        .addNode(mark('on-odd'))
        .setRoute('check', 'even', 'on-even')
        .setRoute('check', 'odd', 'on-odd')
    const even = { value: 4, log: [] }
    const odd = { value: 7, log: [] }
    expect((await build().run(even)).output).toBe('on-even')
    expect((await build().run(odd)).output).toBe('on-odd')
    expect(even.log).toEqual(['on-even'])
    expect(odd.log).toEqual(['on-odd'])
  })

  it('falls back to the default-action edge, then the default route, then fails naming node and action', async () => {
    type A = 'default' | 'rare'
    const router = node<Ctx, A>('router', () => Outcome.route('rare'))
    const target = node<Ctx, A>('target', () => Outcome.success('reached'))
    const byEdge = new Workflow<Ctx, A>(router)
      .addNode(target)
      .setRoute('router', 'default', 'target')
    expect((await byEdge.run({ value: 0, log: [] })).output).toBe('reached')
    const byDefault = new Workflow<Ctx, A>(router)
      .addNode(target)
      .setDefaultRoute('router', 'target')
    expect((await byDefault.run({ value: 0, log: [] })).output).toBe('reached')
    const none = new Workflow<Ctx, A>(router).addNode(target)
    const err = await none.run({ value: 0, log: [] }).catch((e: unknown) => e)
    expect(isError(err, ERR.ENGINE_ACTION_NOT_HANDLED)).toBe(true)
    expect(String(err)).toContain("'router'")
    expect(String(err)).toContain("'rare'")
  })

  it('skipped follows the default route when there is one', async () => {
    const skip = node<Ctx>('skip', () => Outcome.skipped())
    const wf = new Workflow<Ctx>(skip)
      .addNode(step('after', (v) => v + 5))
      .setDefaultRoute('skip', 'after')
    const ctx = { value: 1, log: [] }
    const res = await wf.run(ctx)
    expect(res.status).toBe('success')
    expect(ctx.value).toBe(6)
    expect(res.path).toEqual(['skip', 'after'])
  })

  it('skipped without a default route ends the run as skipped', async () => {
    const wf = new Workflow<Ctx>(step('first', (v) => v + 1))
      .addNode(node<Ctx>('skip', () => Outcome.skipped()))
      .addNode(step('never', (v) => v * 100))
      .setDefaultRoute('first', 'skip')
    const ctx = { value: 1, log: [] }
    const res = await wf.run(ctx)
    expect(res).toEqual({
      status: 'skipped',
      output: 2,
      lastNodeId: 'skip',
      path: ['first', 'skip'],
    })
    expect(ctx.log).toEqual(['first'])
  })

  it('refuses routes to unknown nodes, naming them', async () => {
    const wf = new Workflow<Ctx>(step('a', (v) => v)).setDefaultRoute('a', 'ghost')
    const err = await wf.run({ value: 0, log: [] }).catch((e: unknown) => e)
    expect(isError(err, ERR.ENGINE_INVALID_GRAPH)).toBe(true)
    expect(String(err)).toContain("unknown node 'ghost'")
    expect(() => wf.addNode(step('a', (v) => v))).toThrow(/'a' is already/)
  })

  it('a timeout is an ENGINE_TIMEOUT error naming the running node, and its signal aborts', async () => {
    let sawAbort = false
    const slow = node<Ctx>('slow', (_ctx, signal) => {
      return new Promise((resolve) => {
        signal?.addEventListener('abort', () => {
          sawAbort = true
          resolve(Outcome.success(0))
        })
      })
    })
    const err = await new Workflow<Ctx>(slow)
      .run({ value: 0, log: [] }, { timeoutMs: 20 })
      .catch((e: unknown) => e)
    expect(isError(err, ERR.ENGINE_TIMEOUT)).toBe(true)
    expect(String(err)).toContain("'slow'")
    expect(sawAbort).toBe(true)
  })

  it('a misspelt action does not compile', () => {
    type A = 'high' | 'low'
    const wf = new Workflow<Ctx, A>(node<Ctx, A>('n', () => Outcome.route('high')))
    // @ts-expect-error 'hihg' is not an action of A
    wf.setRoute('n', 'hihg', 'n')
    // @ts-expect-error a node may only route to actions of A
    node<Ctx, A>('m', () => Outcome.route('hgih'))
    // The same, as types vitest checks (\`npm run typecheck\` fails if they stop holding).
    expectTypeOf<Parameters<typeof wf.setRoute>[1]>().toEqualTypeOf<A>()
    expectTypeOf<'hihg'>().not.toExtend<Parameters<typeof wf.setRoute>[1]>()
  })
})
