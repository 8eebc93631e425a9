import { describe, expect, it } from 'vitest'
import { ERR, isError } from '../../src/errors.js'
import { constantBackoff, node, Outcome, RetryNode, retry, Workflow } from '../../src/index.js'

interface Ctx {
  attempts: number
}

const flaky = (failures: number) =>
  node<Ctx>('flaky', (ctx) => {
    ctx.attempts++
    if (ctx.attempts <= failures) throw new Error(`failure ${ctx.attempts}`)
    return Outcome.success('ok')
  })

describe('retry node', () => {
  it('succeeds after two failures, waiting per the policy', async () => {
    const waits: number[] = []
    const r = retry(flaky(2), {
      maxAttempts: 3,
      backoff: (n) => n * 5,
      onRetry: (_e, _n, ms) => waits.push(ms),
    })
    const ctx = { attempts: 0 }
    const res = await new Workflow<Ctx>(r).run(ctx)
    expect(res.output).toBe('ok')
    expect(ctx.attempts).toBe(3)
    expect(waits).toEqual([5, 10])
  })

  it('gives up after maxAttempts with the last error as cause', async () => {
    const ctx = { attempts: 0 }
    const err = await new RetryNode(flaky(10), { maxAttempts: 3, backoff: constantBackoff(1) })
      .run(ctx)
      .catch((e: unknown) => e)
    expect(isError(err, ERR.ENGINE_RETRY_EXHAUSTED)).toBe(true)
    expect(String(err)).toContain("'flaky' failed 3 times")
    expect((err as Error).cause).toBeInstanceOf(Error)
    expect(((err as Error).cause as Error).message).toBe('failure 3')
    expect(ctx.attempts).toBe(3)
  })

  it('does not retry errors refused by retryOn', async () => {
    const ctx = { attempts: 0 }
    const err = await retry(flaky(10), {
      maxAttempts: 5,
      backoff: constantBackoff(1),
      retryOn: () => false,
    })
      .run(ctx)
      .catch((e: unknown) => e)
    expect((err as Error).message).toBe('failure 1')
    expect(ctx.attempts).toBe(1)
  })

  it('a backoff wait ends at once when the signal aborts', async () => {
    const ac = new AbortController()
    const ctx = { attempts: 0 }
    const r = retry(flaky(10), {
      maxAttempts: 5,
      backoff: constantBackoff(60_000),
      onRetry: () => queueMicrotask(() => ac.abort()),
    })
    const started = Date.now()
    const err = await r.run(ctx, ac.signal).catch((e: unknown) => e)
    expect(isError(err, ERR.ENGINE_ABORTED)).toBe(true)
    expect(ctx.attempts).toBe(1)
    // Bounded, not a speed assertion: a 60 s wait was not served.
    expect(Date.now() - started).toBeLessThan(30_000)
  })
})
