import { expect, it } from 'vitest'
import { verificationsAtOnce } from '../../src/broker/access-policy.js'
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
  // the username's count is not cleared for other addresses: 5 more free tries each
  // time the device logs in would help whoever guesses
  expect(t.blockedFor('10.0.0.9', 'dev', 1000)).toBe(4000)
})

it('wrong passwords from other addresses never lock a device out of an address it logged in from', () => {
  const t = new AuthThrottle()
  t.succeeded('10.0.0.5', 'greenhouse-1')
  expect(t.isKnown('10.0.0.5', 'greenhouse-1')).toBe(true)
  // an attacker who knows the username, from 250 addresses of its own
  for (let i = 0; i < 250; i++) t.failed(`10.0.1.${i}`, 'greenhouse-1', 0)
  expect(t.blockedFor('10.0.2.1', 'greenhouse-1', 0)).toBe(60_000)
  expect(t.blockedFor('10.0.0.5', 'greenhouse-1', 0)).toBe(0)
  // the device's own failures still count against its address
  for (let i = 0; i < 6; i++) t.failed('10.0.0.5', 'greenhouse-1', 0)
  expect(t.blockedFor('10.0.0.5', 'greenhouse-1', 0)).toBe(1000)
})

it('remembers at most maxKeys known pairs', () => {
  const t = new AuthThrottle({ maxKeys: 100 })
  for (let i = 0; i < 1000; i++) t.succeeded(`10.0.${i >> 8}.${i & 255}`, 'dev')
  expect(t.isKnown('10.0.3.231', 'dev')).toBe(true) // the last one
  expect(t.isKnown('10.0.0.0', 'dev')).toBe(false)
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

it('keeps a queue of its own for known pairs, served first', async () => {
  const slots = new VerifySlots(1, 2)
  const order: string[] = []
  const release: (() => void)[] = []
  const job = (name: string) => () =>
    new Promise<void>((r) => {
      order.push(name)
      release.push(r)
    })
  const started = [
    slots.run(job('a')),
    slots.run(job('b')),
    slots.run(job('c')),
    slots.run(job('d')), // the unknown queue is full
    slots.run(job('known-1'), true),
    slots.run(job('known-2'), true),
    slots.run(job('known-3'), true), // so is the known one
  ]
  expect(started.map((p) => p !== undefined)).toEqual([true, true, true, false, true, true, false])
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r))
    release.shift()?.()
  }
  await Promise.all(started)
  expect(order).toEqual(['a', 'known-1', 'known-2', 'b', 'c'])
})

it('runs 1 verification at once when a configured hash costs over 32 MiB, else 2', async () => {
  const salt = 'YqyZkqfT3wEiBlF+M+gZaw=='
  const key = 'z/BcI7dtbfPxphqgN2J/2B3Mxe6jysLqDVNCl36u0g4='
  const user = (N: number, r: number) => ({
    username: `u${N}-${r}`,
    passwordHash: `scrypt$${N}$${r}$1$${salt}$${key}`,
    acl: { publish: [], subscribe: [] },
  })
  expect(verificationsAtOnce([])).toBe(2) // unknown usernames: the default 16 MiB
  expect(verificationsAtOnce([user(16384, 8)])).toBe(2) // 16 MiB
  expect(verificationsAtOnce([user(32768, 8)])).toBe(2) // 32 MiB
  expect(verificationsAtOnce([user(16384, 8), user(65536, 8)])).toBe(1) // 64 MiB
})
