import { describe, expect, it } from 'vitest'
import {
  ChannelEventSource,
  EventDrivenWorkflow,
  NestedEventDrivenWorkflow,
  node,
  Outcome,
  processor,
  Workflow,
} from '../../src/index.js'

interface Ctx {
  sum: number
  steps: string[]
}
type Inner = 'default' | 'terminate'
type Outer = 'complete' | 'timeout' | 'default'

function inner(src: ChannelEventSource<number>, opts: { rethrow?: boolean } = {}) {
  return new EventDrivenWorkflow<number, Ctx, Inner>({
    id: 'inner',
    ...(opts.rethrow
      ? {
          onError: (err: unknown) => {
            throw err
          },
        }
      : {}),
  })
    .addNode(src)
    .addNode(
      processor<number, Ctx, Inner>('add', (e, ctx) => {
        if (Number.isNaN(e)) throw new Error('not a number')
        ctx.sum += e
        ctx.steps.push(`add ${e}`)
        return e === 0 ? 'terminate' : 'default'
      }),
    )
    .setRoute('numbers', 'default', 'add')
}

function outer(nested: NestedEventDrivenWorkflow<number, Ctx, Outer>) {
  const mark = (id: string) =>
    node<Ctx, Outer>(id, (ctx) => {
      ctx.steps.push(id)
      return Outcome.success(ctx.sum)
    })
  return new Workflow<Ctx, Outer>(nested)
    .addNode(mark('after-complete'))
    .addNode(mark('after-timeout'))
    .setRoute('events', 'complete', 'after-complete')
    .setRoute('events', 'timeout', 'after-timeout')
}

describe('NestedEventDrivenWorkflow', () => {
  it('a normal end gives the complete action, on the same context', async () => {
    const src = new ChannelEventSource<number>(8, 'numbers')
    for (const e of [1, 2, 3, 0, 99]) src.trySend(e)
    const nested = new NestedEventDrivenWorkflow<number, Ctx, Outer>(inner(src), { id: 'events' })
    const ctx: Ctx = { sum: 100, steps: [] }
    const res = await outer(nested).run(ctx)
    expect(res.output).toBe(106)
    expect(ctx.steps).toEqual(['add 1', 'add 2', 'add 3', 'add 0', 'after-complete'])
    expect(nested.lastResult?.reason).toBe('terminated')
  })

  it('sources closing is a normal end too', async () => {
    const src = new ChannelEventSource<number>(8, 'numbers')
    src.trySend(5)
    src.close()
    const ctx: Ctx = { sum: 0, steps: [] }
    const nested = new NestedEventDrivenWorkflow<number, Ctx, Outer>(inner(src), { id: 'events' })
    expect((await outer(nested).run(ctx)).output).toBe(5)
    expect(nested.lastResult?.reason).toBe('closed')
  })

  it('a timeout gives the timeout action, with the context as the inner run left it', async () => {
    const src = new ChannelEventSource<number>(8, 'numbers')
    src.trySend(4)
    const nested = new NestedEventDrivenWorkflow<number, Ctx, Outer>(inner(src), {
      id: 'events',
      timeoutMs: 30,
    })
    const ctx: Ctx = { sum: 0, steps: [] }
    const res = await outer(nested).run(ctx)
    expect(res.output).toBe(4)
    expect(ctx.steps).toEqual(['add 4', 'after-timeout'])
  })

  it('errors pass through: a fatal inner error rejects the outer run', async () => {
    const src = new ChannelEventSource<number>(8, 'numbers')
    for (const e of [2, Number.NaN, 3]) src.trySend(e)
    const nested = new NestedEventDrivenWorkflow<number, Ctx, Outer>(
      inner(src, { rethrow: true }),
      {
        id: 'events',
      },
    )
    const ctx: Ctx = { sum: 0, steps: [] }
    await expect(outer(nested).run(ctx)).rejects.toThrow('not a number')
    expect(ctx.steps).toEqual(['add 2'])
  })

  it('errors pass through: an invalid inner graph rejects the outer run', async () => {
    const src = new ChannelEventSource<number>(8, 'numbers')
    const bad = inner(src).setRoute('add', 'default', 'nowhere')
    const nested = new NestedEventDrivenWorkflow<number, Ctx, Outer>(bad, { id: 'events' })
    await expect(outer(nested).run({ sum: 0, steps: [] })).rejects.toThrow(/unknown node 'nowhere'/)
  })
})
