import { describe, expect, it } from 'vitest'
import {
  ChannelEventSource,
  EventActions,
  type EventDrivenNode,
  EventDrivenWorkflow,
  eventActions,
  processor,
} from '../../src/index.js'
import { waitFor } from '../helpers/wait.js'

type A = 'default' | 'terminate'

function build(src: ChannelEventSource<number>, seen: number[]) {
  return new EventDrivenWorkflow<number, unknown, A>({ id: 'ends' })
    .addNode(src)
    .addNode(
      processor<number, unknown, A>('sink', (e) => {
        seen.push(e)
        return e < 0 ? EventActions.terminate() : 'default'
      }),
    )
    .setRoute(src.id, 'default', 'sink')
}

describe('how a run ends', () => {
  it('termination: the terminate action ends the run, later events stay in the source', async () => {
    const src = new ChannelEventSource<number>(16, 'in')
    for (const e of [1, 2, -1, 3, 4]) src.trySend(e)
    const seen: number[] = []
    const res = await build(src, seen).execute(undefined)
    expect(res.reason).toBe('terminated')
    expect(res.terminatedBy).toBe('sink')
    expect(res.eventsProcessed).toBe(3)
    expect(seen).toEqual([1, 2, -1])
    expect(res.unprocessed).toEqual([])
    expect(src.size).toBe(2)
  })

  it('a custom terminate action', async () => {
    type B = 'default' | 'halt'
    const src = new ChannelEventSource<number>(4, 'in')
    src.trySend(1)
    const wf = new EventDrivenWorkflow<number, unknown, B>({
      terminateAction: eventActions<B>({ terminate: 'halt', timeout: 'halt' }).terminate(),
    })
      .addNode(src)
      .addNode(processor<number, unknown, B>('stop', () => 'halt'))
      .setRoute('in', 'default', 'stop')
    const res = await wf.execute(undefined)
    expect(res.reason).toBe('terminated')
    expect(EventActions.timeout()).toBe('timeout')
  })

  it('timeout is a result, not an exception', async () => {
    const src = new ChannelEventSource<number>(4, 'in')
    const seen: number[] = []
    src.trySend(5)
    const res = await build(src, seen).execute(undefined, { timeoutMs: 30 })
    expect(res.reason).toBe('timeout')
    expect(res.eventsProcessed).toBe(1)
    // The pending wait was cancelled: an event sent now stays in the channel.
    src.trySend(6)
    expect(src.size).toBe(1)
  })

  it('abort signal ends the run with aborted; the pending wait gets the signal', async () => {
    const src = new ChannelEventSource<number>(4, 'in')
    const seen: number[] = []
    const ac = new AbortController()
    const run = build(src, seen).execute(undefined, { signal: ac.signal })
    await src.send(1)
    await waitFor(() => seen.length === 1, { what: 'first event' })
    ac.abort()
    const res = await run
    expect(res.reason).toBe('aborted')
    expect(res.eventsProcessed).toBe(1)
    src.trySend(2)
    expect(src.size).toBe(1)
  })

  it('an already aborted signal ends the run before any event', async () => {
    const src = new ChannelEventSource<number>(4, 'in')
    src.trySend(1)
    const seen: number[] = []
    const res = await build(src, seen).execute(undefined, { signal: AbortSignal.abort() })
    expect(res.reason).toBe('aborted')
    expect(seen).toEqual([])
    expect(src.size).toBe(1)
  })

  it('refuses a second execute while running', async () => {
    const src = new ChannelEventSource<number>(4, 'in')
    const wf = build(src, [])
    const run = wf.execute(undefined)
    await expect(wf.execute(undefined)).rejects.toThrow(/already executing/)
    src.close()
    expect((await run).reason).toBe('closed')
  })

  it('an event taken from a source but not processed is returned in unprocessed, not lost', async () => {
    const ch = new ChannelEventSource<number>(8, 'inner')
    // A source without pollEvent: its next wait is pending while a path runs.
    const plain: EventDrivenNode<number, unknown, A> = {
      id: 'plain',
      waitForEvent: (signal) => ch.waitForEvent(signal),
      processEvent: () => 'default',
    }
    for (const e of [-1, 2, 3]) ch.trySend(e)
    const seen: number[] = []
    const wf = new EventDrivenWorkflow<number, unknown, A>()
      .addNode(plain)
      .addNode(
        processor<number, unknown, A>('sink', (e) => {
          seen.push(e)
          return e < 0 ? 'terminate' : 'default'
        }),
      )
      .setRoute('plain', 'default', 'sink')
    const res = await wf.execute(undefined)
    expect(res.reason).toBe('terminated')
    expect(seen).toEqual([-1])
    expect(res.unprocessed).toEqual([2])
    expect(ch.size).toBe(1)
  })
})
