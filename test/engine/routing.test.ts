import { describe, expect, it } from 'vitest'
import { ChannelEventSource, EventDrivenWorkflow, processor } from '../../src/index.js'
import { recorder } from './fixtures.js'

type Ev = { readonly n: number } | { readonly text: string }
type A = 'default' | 'big' | 'small' | 'odd'

describe('event routing', () => {
  it('routes by the event content; an action without a route ends only that path', async () => {
    const src = new ChannelEventSource<Ev>(16, 'in')
    const big: Ev[] = []
    const small: Ev[] = []
    const wf = new EventDrivenWorkflow<Ev, unknown, A>()
      .addNode(src)
      .addNode(
        processor<Ev, unknown, A>('classify', (e) => {
          if (!('n' in e)) return 'default'
          if (e.n % 2 === 1) return 'odd' // no route: the path ends here
          return e.n >= 10 ? 'big' : 'small'
        }),
      )
      .addNode(recorder<Ev, unknown, A>('big', big, 'default'))
      .addNode(recorder<Ev, unknown, A>('small', small, 'default'))
      .setRoute('in', 'default', 'classify')
      .setRoute('classify', 'big', 'big')
      .setRoute('classify', 'small', 'small')
    for (const n of [2, 3, 20, 5, 4, 40]) src.trySend({ n })
    src.close()
    const res = await wf.execute(undefined)
    expect(res).toMatchObject({ reason: 'closed', eventsProcessed: 6, errors: 0 })
    expect(big).toEqual([{ n: 20 }, { n: 40 }])
    expect(small).toEqual([{ n: 2 }, { n: 4 }])
  })

  it('a node passes a transformed event to the next node (sync and async)', async () => {
    const src = new ChannelEventSource<Ev>(16, 'in')
    const out: Ev[] = []
    const wf = new EventDrivenWorkflow<Ev, unknown, A>()
      .addNode(src)
      .addNode(
        processor<Ev, unknown, A>('parse', (e) =>
          'text' in e ? { action: 'default', event: { n: Number(e.text) } } : 'default',
        ),
      )
      .addNode(
        processor<Ev, unknown, A>('double', async (e) => ({
          action: 'default',
          event: { n: 'n' in e ? e.n * 2 : -1 },
        })),
      )
      .addNode(recorder<Ev, unknown, A>('sink', out, 'default'))
      .setRoute('in', 'default', 'parse')
      .setRoute('parse', 'default', 'double')
      .setRoute('double', 'default', 'sink')
    src.trySend({ text: '21' })
    src.trySend({ n: 5 })
    src.close()
    await wf.execute(undefined)
    expect(out).toEqual([{ n: 42 }, { n: 10 }])
  })

  it('a synchronous path is not awaited: no microtask runs between ready events', async () => {
    const src = new ChannelEventSource<number>(16, 'in')
    let microtaskRan = false
    const observed: boolean[] = []
    const wf = new EventDrivenWorkflow<number, unknown, 'default'>()
      .addNode(src)
      .addNode(
        processor<number, unknown, 'default'>('probe', (e) => {
          observed.push(microtaskRan)
          if (e === 0) queueMicrotask(() => (microtaskRan = true))
          return 'default'
        }),
      )
      .setRoute('in', 'default', 'probe')
    for (let i = 0; i < 5; i++) src.trySend(i)
    src.close()
    await wf.execute(undefined)
    expect(observed).toEqual([false, false, false, false, false])
    expect(microtaskRan).toBe(true)
  })

  it('a routing loop is stopped per event by maxHops, and the run goes on', async () => {
    const src = new ChannelEventSource<number>(4, 'in')
    const errs: string[] = []
    const wf = new EventDrivenWorkflow<number, unknown, 'default'>({
      maxHops: 10,
      onError: (e, _ev, id) => errs.push(`${id}: ${(e as Error).message}`),
    })
      .addNode(src)
      .addNode(processor<number, unknown, 'default'>('spin', () => 'default'))
      .setRoute('in', 'default', 'spin')
      .setRoute('spin', 'default', 'spin')
    src.trySend(1)
    src.trySend(2)
    src.close()
    const res = await wf.execute(undefined)
    expect(res.eventsProcessed).toBe(2)
    expect(res.errors).toBe(2)
    expect(errs[0]).toMatch(/^spin: an event passed through 10 nodes/)
  })

  it('a misspelt action does not compile', () => {
    const wf = new EventDrivenWorkflow<Ev, unknown, A>()
    // @ts-expect-error 'bgi' is not an action of A
    wf.setRoute('in', 'bgi', 'big')
    // @ts-expect-error processEvent may only return actions of A
    processor<Ev, unknown, A>('x', () => 'smal')
    expect(wf.id).toBe('event-workflow')
  })
})
