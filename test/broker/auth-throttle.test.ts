import { expect, it } from 'vitest'
import { AuthThrottle, VerifySlots } from '../../src/broker/auth-throttle.js'

it('blocks an address and a username after 5 failures, doubling up to the cap; success clears', () => {
  const t = new AuthThrottle({ maxBlockMs: 4000 })
  for (let i = 0; i < 5; i++) t.failed('10.0.0.1', 'dev', 0)
  expect(t.blockedFor('10.0.0.1', undefined, 0)).toBe(0)
  t.failed('10.0.0.1', 'dev', 0)
  expect(t.blockedFor('10.0.0.1', undefined, 0)).toBe(1000)
  // the username is blocked from any address
  expect(t.blockedFor('10.0.0.9', 'dev', 0)).toBe(1000)
  for (let i = 0; i < 5; i++) t.failed('10.0.0.1', 'dev', 1000)
  expect(t.blockedFor('10.0.0.1', 'dev', 1000)).toBe(4000)
  t.succeeded('10.0.0.1', 'dev')
  expect(t.blockedFor('10.0.0.1', 'dev', 1000)).toBe(0)
})

it('keeps at most maxKeys addresses and usernames', () => {
  const t = new AuthThrottle({ maxKeys: 100 })
  for (let i = 0; i < 10_000; i++) t.failed(`10.0.${i >> 8}.${i & 255}`, `user-${i}`, i)
  expect(t.size).toBe(100)
})

it('runs at most 2 verifications at once, queues 32, refuses the rest without running them', async () => {
  const slots = new VerifySlots(2, 32)
  let running = 0
  let peak = 0
  const release: (() => void)[] = []
  const job = () =>
    new Promise<void>((r) => {
      running++
      peak = Math.max(peak, running)
      release.push(() => {
        running--
        r()
      })
    })
  const started = Array.from({ length: 40 }, () => slots.run(job))
  expect(started.filter((p) => p === undefined)).toHaveLength(6)
  for (let i = 0; i < 34; i++) {
    await new Promise((r) => setImmediate(r))
    release.shift()?.()
  }
  await Promise.all(started)
  expect(peak).toBe(2)
})
