import { describe, expect, it } from 'vitest'
import { ChannelEventSource, EventDrivenWorkflow, processor } from '../../src/index.js'

interface Ev {
  readonly from: string
  readonly seq: number
}

describe('several sources', () => {
  it('two sources interleave without losing order per source', async () => {
    const a = new ChannelEventSource<Ev>(8, 'a')
    const b = new ChannelEventSource<Ev>(8, 'b')
    const seen: Ev[] = []
    let active = 0
    let maxActive = 0
    const wf = new EventDrivenWorkflow<Ev, unknown, 'default'>()
      .addNode(a)
      .addNode(b)
      .addNode(
        processor<Ev, unknown, 'default'>('sink', async (e) => {
          // Paths never overlap, even with async nodes.
          active++
          maxActive = Math.max(maxActive, active)
          if (e.seq % 7 === 0) await new Promise((r) => setImmediate(r))
          seen.push(e)
          active--
          return 'default' as const
        }),
      )
      .setRoute('a', 'default', 'sink')
      .setRoute('b', 'default', 'sink')
    const run = wf.execute(undefined)
    const N = 2000
    const produce = async (src: ChannelEventSource<Ev>) => {
      for (let seq = 0; seq < N; seq++) await src.send({ from: src.id, seq })
      src.close()
    }
    await Promise.all([produce(a), produce(b)])
    const res = await run
    expect(res).toMatchObject({ reason: 'closed', eventsProcessed: 2 * N })
    expect(maxActive).toBe(1)
    const fromA = seen.filter((e) => e.from === 'a').map((e) => e.seq)
    const fromB = seen.filter((e) => e.from === 'b').map((e) => e.seq)
    expect(fromA).toEqual(Array.from({ length: N }, (_, i) => i))
    expect(fromB).toEqual(Array.from({ length: N }, (_, i) => i))
    // Interleaved, not one source drained before the other.
    const firstB = seen.findIndex((e) => e.from === 'b')
    expect(firstB).toBeLessThan(N)
  })

  it('a busy source does not starve another: round robin while both have events', async () => {
    const busy = new ChannelEventSource<Ev>(1000, 'busy')
    const quiet = new ChannelEventSource<Ev>(10, 'quiet')
    for (let seq = 0; seq < 1000; seq++) busy.trySend({ from: 'busy', seq })
    for (let seq = 0; seq < 3; seq++) quiet.trySend({ from: 'quiet', seq })
    busy.close()
    quiet.close()
    const seen: string[] = []
    const wf = new EventDrivenWorkflow<Ev, unknown, 'default'>()
      .addNode(busy)
      .addNode(quiet)
      .addNode(
        processor<Ev, unknown, 'default'>('sink', (e) => {
          seen.push(`${e.from}${e.seq}`)
          return 'default'
        }),
      )
      .setRoute('busy', 'default', 'sink')
      .setRoute('quiet', 'default', 'sink')
    await wf.execute(undefined)
    expect(seen.slice(0, 6)).toEqual(['busy0', 'quiet0', 'busy1', 'quiet1', 'busy2', 'quiet2'])
    expect(seen).toHaveLength(1003)
  })
})
