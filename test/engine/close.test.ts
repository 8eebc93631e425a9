import { describe, expect, it } from 'vitest'
import { ChannelEventSource, EventDrivenWorkflow, processor } from '../../src/index.js'
import { waitFor } from '../helpers/wait.js'

describe('closing sources', () => {
  it('close while 1,000 events are queued: all 1,000 are processed, reason closed', async () => {
    const src = new ChannelEventSource<number>(1000, 'in')
    for (let i = 0; i < 1000; i++) expect(src.trySend(i)).toBe(true)
    src.close()
    const seen: number[] = []
    const wf = new EventDrivenWorkflow<number, unknown, 'default'>()
      .addNode(src)
      .addNode(
        processor('slow-sink', async (e: number) => {
          await new Promise((r) => setImmediate(r))
          seen.push(e)
          return 'default' as const
        }),
      )
      .setRoute('in', 'default', 'slow-sink')
    const res = await wf.execute(undefined)
    expect(res.reason).toBe('closed')
    expect(res.eventsProcessed).toBe(1000)
    expect(res.unprocessed).toEqual([])
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i))
  })

  it('close during a run: events queued before close are processed, then the run ends', async () => {
    const src = new ChannelEventSource<number>(2000, 'in')
    const seen: number[] = []
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    const wf = new EventDrivenWorkflow<number, unknown, 'default'>()
      .addNode(src)
      .addNode(
        processor('sink', async (e: number) => {
          await gate
          seen.push(e)
          return 'default' as const
        }),
      )
      .setRoute('in', 'default', 'sink')
    const run = wf.execute(undefined)
    for (let i = 0; i < 1000; i++) await src.send(i)
    // The first event is held in the sink; the other 999 wait in the channel.
    await waitFor(() => src.size === 999, { what: '999 queued events' })
    src.close()
    release()
    const res = await run
    expect(res.reason).toBe('closed')
    expect(res.eventsProcessed).toBe(1000)
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i))
  })

  it('the run ends closed only when every source is closed', async () => {
    const a = new ChannelEventSource<string>(8, 'a')
    const b = new ChannelEventSource<string>(8, 'b')
    const seen: string[] = []
    const wf = new EventDrivenWorkflow<string, unknown, 'default'>()
      .addNode(a)
      .addNode(b)
      .addNode(
        processor('sink', (e: string) => {
          seen.push(e)
          return 'default' as const
        }),
      )
      .setRoute('a', 'default', 'sink')
      .setRoute('b', 'default', 'sink')
    let ended = false
    const run = wf.execute(undefined).then((r) => {
      ended = true
      return r
    })
    await a.send('a1')
    a.close()
    await waitFor(() => seen.includes('a1'), { what: 'a1' })
    await b.send('b1')
    await waitFor(() => seen.includes('b1'), { what: 'b1' })
    expect(ended).toBe(false)
    b.close()
    expect((await run).reason).toBe('closed')
    expect(seen).toEqual(['a1', 'b1'])
  })
})
