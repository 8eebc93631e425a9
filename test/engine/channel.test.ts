import { describe, expect, it } from 'vitest'
import { ERR, isError } from '../../src/errors.js'
import {
  Channel,
  ChannelEventSource,
  EventDrivenWorkflow,
  NO_EVENT,
  processor,
  SOURCE_CLOSED,
} from '../../src/index.js'
import { waitFor } from '../helpers/wait.js'

describe('channel', () => {
  it('a sender to a full channel waits; trySend says false', async () => {
    const ch = new Channel<number>(2, 'c')
    expect(ch.trySend(1)).toBe(true)
    expect(ch.trySend(2)).toBe(true)
    expect(ch.trySend(3)).toBe(false)
    let sent = false
    const p = ch.send(3).then(() => {
      sent = true
    })
    await Promise.resolve()
    expect(sent).toBe(false)
    expect(ch.waitingSenders).toBe(1)
    expect(ch.tryReceive()).toBe(1)
    await p
    expect(sent).toBe(true)
    expect([ch.tryReceive(), ch.tryReceive(), ch.tryReceive()]).toEqual([2, 3, NO_EVENT])
  })

  it('close: queued values and waiting senders are still received, then SOURCE_CLOSED; new sends refused', async () => {
    const ch = new Channel<number>(1, 'c')
    await ch.send(1)
    const late = ch.send(2)
    ch.close()
    await expect(ch.send(3)).rejects.toSatisfy((e) => isError(e, ERR.ENGINE_CHANNEL_CLOSED))
    expect(() => ch.trySend(3)).toThrow(/'c' is closed/)
    expect(await ch.receive()).toBe(1)
    expect(await ch.receive()).toBe(2)
    await late
    expect(await ch.receive()).toBe(SOURCE_CLOSED)
  })

  it('an aborted receive takes no value', async () => {
    const ch = new Channel<number>(4)
    const ac = new AbortController()
    const r = ch.receive(ac.signal)
    ac.abort(new Error('stop'))
    await expect(r).rejects.toThrow('stop')
    ch.trySend(7)
    expect(ch.tryReceive()).toBe(7)
  })

  it('100,000 events through a capacity-16 channel source arrive complete and in order', async () => {
    const N = 100_000
    const src = new ChannelEventSource<number>(16, 'numbers')
    const seen: number[] = []
    let maxQueued = 0
    const wf = new EventDrivenWorkflow<number, unknown, 'default'>()
      .addNode(src)
      .addNode(
        processor('sink', (e: number) => {
          seen.push(e)
          if (src.size > maxQueued) maxQueued = src.size
          return 'default'
        }),
      )
      .setRoute('numbers', 'default', 'sink')
    const run = wf.execute(undefined)
    for (let i = 0; i < N; i++) await src.send(i)
    src.close()
    const res = await run
    expect(res.reason).toBe('closed')
    expect(res.eventsProcessed).toBe(N)
    expect(seen.length).toBe(N)
    for (let i = 0; i < N; i++) if (seen[i] !== i) expect.fail(`event ${i} arrived as ${seen[i]}`)
    expect(maxQueued).toBeLessThanOrEqual(16)
  })

  it('the source waits while the consumer is slow; nothing is dropped', async () => {
    const src = new ChannelEventSource<number>(4, 'slow')
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
      .setRoute('slow', 'default', 'sink')
    const run = wf.execute(undefined)
    let accepted = 0
    const producer = (async () => {
      for (let i = 0; i < 20; i++) {
        await src.send(i)
        accepted++
      }
      src.close()
    })()
    // The first event is in the sink, four wait in the channel, the fifth send waits.
    await waitFor(() => src.channel.waitingSenders === 1, { what: 'a waiting sender' })
    expect(accepted).toBe(5)
    release()
    await producer
    const res = await run
    expect(res.eventsProcessed).toBe(20)
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })
})
