import { describe, expect, it } from 'vitest'
import { ERR, isError } from '../../src/errors.js'
import {
  ChannelEventSource,
  EventDrivenWorkflow,
  type NodeFailure,
  processor,
} from '../../src/index.js'

type A = 'default' | 'error'

function flaky(id: string) {
  return processor<number, unknown, A>(id, (e) => {
    if (e % 3 === 0) throw new Error(`bad ${e}`)
    return 'default'
  })
}

describe('errors in nodes', () => {
  it('a throwing node does not stop the next event; the handler gets error, event and node', async () => {
    const src = new ChannelEventSource<number>(16, 'in')
    const ok: number[] = []
    const handled: [string, number | undefined, string][] = []
    const wf = new EventDrivenWorkflow<number, unknown, A>()
      .onError((err, ev, id) => handled.push([(err as Error).message, ev, id]))
      .addNode(src)
      .addNode(flaky('check'))
      .addNode(
        processor<number, unknown, A>('ok', (e) => {
          ok.push(e)
          return 'default'
        }),
      )
      .setRoute('in', 'default', 'check')
      .setRoute('check', 'default', 'ok')
    for (let i = 1; i <= 7; i++) src.trySend(i)
    src.close()
    const res = await wf.execute(undefined)
    expect(res).toMatchObject({ reason: 'closed', eventsProcessed: 7, errors: 2 })
    expect(ok).toEqual([1, 2, 4, 5, 7])
    expect(handled).toEqual([
      ['bad 3', 3, 'check'],
      ['bad 6', 6, 'check'],
    ])
  })

  it("the 'error' route takes the event to the next node with the failure", async () => {
    const src = new ChannelEventSource<number>(16, 'in')
    const deadLetters: { event: number; failure: NodeFailure | undefined }[] = []
    let handlerCalls = 0
    const wf = new EventDrivenWorkflow<number, unknown, A>({ onError: () => handlerCalls++ })
      .addNode(src)
      .addNode(flaky('check'))
      .addNode(
        processor<number, unknown, A>('dead-letter', (event, _ctx, failure) => {
          deadLetters.push({ event, failure })
          return 'default'
        }),
      )
      .setRoute('in', 'default', 'check')
      .setRoute('check', 'error', 'dead-letter')
    for (let i = 1; i <= 4; i++) src.trySend(i)
    src.close()
    const res = await wf.execute(undefined)
    expect(res.errors).toBe(0)
    expect(handlerCalls).toBe(0)
    expect(deadLetters).toHaveLength(1)
    expect(deadLetters[0]?.event).toBe(3)
    expect(deadLetters[0]?.failure?.nodeId).toBe('check')
    expect((deadLetters[0]?.failure?.error as Error | undefined)?.message).toBe('bad 3')
  })

  it('a rejected async node follows the same rules', async () => {
    const src = new ChannelEventSource<number>(16, 'in')
    const seen: string[] = []
    const wf = new EventDrivenWorkflow<number, unknown, A>()
      .addNode(src)
      .addNode(
        processor<number, unknown, A>('async-check', async (e) => {
          await Promise.resolve()
          if (e === 2) throw new Error('async bad')
          return 'default' as const
        }),
      )
      .addNode(
        processor<number, unknown, A>('on-error', (e, _c, f) => {
          seen.push(`${e}:${(f?.error as Error | undefined)?.message}`)
          return 'default'
        }),
      )
      .addNode(
        processor<number, unknown, A>('on-ok', (e) => {
          seen.push(`${e}:ok`)
          return 'default'
        }),
      )
      .setRoute('in', 'default', 'async-check')
      .setRoute('async-check', 'default', 'on-ok')
      .setRoute('async-check', 'error', 'on-error')
    for (const e of [1, 2, 3]) src.trySend(e)
    src.close()
    await wf.execute(undefined)
    expect(seen).toEqual(['1:ok', '2:async bad', '3:ok'])
  })

  it('without a handler the run still goes on and reports the first errors', async () => {
    const src = new ChannelEventSource<number>(16, 'in')
    const wf = new EventDrivenWorkflow<number, unknown, A>()
      .addNode(src)
      .addNode(flaky('check'))
      .setRoute('in', 'default', 'check')
    for (let i = 1; i <= 9; i++) src.trySend(i)
    src.close()
    const res = await wf.execute(undefined)
    expect(res.eventsProcessed).toBe(9)
    expect(res.errors).toBe(3)
    expect(res.firstErrors.map((e) => e.nodeId)).toEqual(['check', 'check', 'check'])
  })

  it('a handler that rethrows makes the error fatal: execute rejects with it', async () => {
    const src = new ChannelEventSource<number>(16, 'in')
    const wf = new EventDrivenWorkflow<number, unknown, A>({
      onError: (err) => {
        throw err
      },
    })
      .addNode(src)
      .addNode(flaky('check'))
      .setRoute('in', 'default', 'check')
    for (let i = 1; i <= 9; i++) src.trySend(i)
    await expect(wf.execute(undefined)).rejects.toThrow('bad 3')
    expect(src.size).toBe(6)
  })

  it('a node returning neither an action nor { action, event } is an error of that node', async () => {
    const src = new ChannelEventSource<number>(16, 'in')
    const seen: number[] = []
    const failures: unknown[] = []
    const wf = new EventDrivenWorkflow<number, unknown, A>({ onError: (e) => failures.push(e) })
      .addNode(src)
      .addNode(
        processor<number, unknown, A>('broken', (e) => {
          if (e === 1) return undefined as unknown as A
          if (e === 2) return Promise.resolve(null as unknown as A)
          return 'default'
        }),
      )
      .addNode(
        processor<number, unknown, A>('after', (e) => {
          seen.push(e)
          return 'default'
        }),
      )
      .setRoute('in', 'default', 'broken')
      .setRoute('broken', 'default', 'after')
    for (const e of [1, 2, 3]) src.trySend(e)
    src.close()
    const res = await wf.execute(undefined)
    expect(res.errors).toBe(2)
    expect(failures.every((e) => isError(e, ERR.ENGINE_BAD_RESULT))).toBe(true)
    expect(String(failures[0])).toContain("'broken'")
    expect(seen).toEqual([3])
  })
})
