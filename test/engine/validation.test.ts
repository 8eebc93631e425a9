import { describe, expect, it } from 'vitest'
import { ERR, isError } from '../../src/errors.js'
import { ChannelEventSource, EventDrivenWorkflow, processor } from '../../src/index.js'

type A = 'default' | 'x'
const p = (id: string) => processor<number, unknown, A>(id, () => 'default')

async function problem(wf: EventDrivenWorkflow<number, unknown, A>): Promise<string> {
  const err = await wf.execute(undefined).catch((e: unknown) => e)
  expect(isError(err, ERR.ENGINE_INVALID_GRAPH)).toBe(true)
  return (err as Error).message
}

describe('graph validation', () => {
  it('names a route to an unknown node', async () => {
    const wf = new EventDrivenWorkflow<number, unknown, A>({ id: 'wf' })
      .addNode(new ChannelEventSource<number>(1, 'in'))
      .setRoute('in', 'default', 'ghost')
    const msg = await problem(wf)
    expect(msg).toContain("workflow 'wf'")
    expect(msg).toContain("unknown node 'ghost'")
  })

  it('names a route from an unknown node', async () => {
    const wf = new EventDrivenWorkflow<number, unknown, A>()
      .addNode(new ChannelEventSource<number>(1, 'in'))
      .addNode(p('a'))
      .setRoute('in', 'default', 'a')
      .setRoute('phantom', 'x', 'a')
    expect(await problem(wf)).toContain("starts at unknown node 'phantom'")
  })

  it('names processors no source reaches', async () => {
    const wf = new EventDrivenWorkflow<number, unknown, A>()
      .addNode(new ChannelEventSource<number>(1, 'in'))
      .addNode(p('a'))
      .addNode(p('island'))
      .addNode(p('island2'))
      .setRoute('in', 'default', 'a')
      .setRoute('island', 'default', 'island2')
    expect(await problem(wf)).toContain("no source reaches node(s) 'island', 'island2'")
  })

  it('refuses a workflow without a source', async () => {
    const wf = new EventDrivenWorkflow<number, unknown, A>().addNode(p('a'))
    expect(await problem(wf)).toContain('no source')
  })

  it('refuses duplicate ids at once', () => {
    const wf = new EventDrivenWorkflow<number, unknown, A>().addNode(p('a'))
    let err: unknown
    try {
      wf.addNode(p('a'))
    } catch (e) {
      err = e
    }
    expect(isError(err, ERR.ENGINE_DUPLICATE_NODE)).toBe(true)
    expect(String(err)).toContain("'a'")
  })
})
