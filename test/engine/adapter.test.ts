import { describe, expect, it } from 'vitest'
import {
  ChannelEventSource,
  type EventDrivenNode,
  EventDrivenNodeAdapter,
  node,
  Outcome,
  SOURCE_CLOSED,
  Workflow,
} from '../../src/index.js'

interface Ctx {
  got: number[]
  after: string[]
}
type A = 'default' | 'big' | 'small' | 'timeout'

/** A channel source whose processEvent routes by value and keeps state in the context. */
function source(capacity = 4) {
  const ch = new ChannelEventSource<number>(capacity, 'numbers')
  const node: EventDrivenNode<number, Ctx, A> = {
    id: 'numbers',
    waitForEvent: (signal) => ch.waitForEvent(signal),
    processEvent: (e, ctx) => {
      ctx.got.push(e)
      return e >= 10 ? 'big' : 'small'
    },
  }
  return { ch, node }
}

function workflow(adapter: EventDrivenNodeAdapter<number, Ctx, A>) {
  const mark = (id: string) =>
    node<Ctx, A>(id, (ctx) => {
      ctx.after.push(id)
      return Outcome.success(id)
    })
  return new Workflow<Ctx, A>(adapter)
    .addNode(mark('on-big'))
    .addNode(mark('on-small'))
    .addNode(mark('on-timeout'))
    .setRoute('numbers', 'big', 'on-big')
    .setRoute('numbers', 'small', 'on-small')
    .setRoute('numbers', 'timeout', 'on-timeout')
}

describe('EventDrivenNodeAdapter', () => {
  it('waits for one event, processes it, and routes by its action', async () => {
    const { ch, node: n } = source()
    const wf = workflow(new EventDrivenNodeAdapter(n, { timeoutMs: 5_000 }))
    const ctx: Ctx = { got: [], after: [] }
    const run = wf.run(ctx)
    await ch.send(42)
    await ch.send(3)
    expect((await run).output).toBe('on-big')
    expect(ctx).toEqual({ got: [42], after: ['on-big'] })
    // One event per run: the second is still in the channel for the next run.
    expect(ch.size).toBe(1)
    expect((await wf.run(ctx)).output).toBe('on-small')
  })

  it('returns the timeout action when no event comes, and leaves later events in the source', async () => {
    const { ch, node: n } = source()
    const wf = workflow(new EventDrivenNodeAdapter(n, { timeoutMs: 20 }))
    const ctx: Ctx = { got: [], after: [] }
    const res = await wf.run(ctx)
    expect(res.output).toBe('on-timeout')
    expect(ctx.got).toEqual([])
    ch.trySend(7)
    expect(ch.size).toBe(1)
    expect(await ch.waitForEvent()).toBe(7)
  })

  it('a closed source gives skipped', async () => {
    const { ch, node: n } = source()
    ch.close()
    expect(await ch.waitForEvent()).toBe(SOURCE_CLOSED)
    const res = await workflow(new EventDrivenNodeAdapter(n, { timeoutMs: 1_000 })).run({
      got: [],
      after: [],
    })
    expect(res.status).toBe('skipped')
  })

  it('refuses a node that is not a source', () => {
    const proc: EventDrivenNode<number, Ctx, A> = { id: 'p', processEvent: () => 'default' }
    expect(() => new EventDrivenNodeAdapter(proc, { timeoutMs: 10 })).toThrow(/event source/)
  })
})
