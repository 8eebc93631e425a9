import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { expect, it } from 'vitest'
import { freePort } from './net.js'

it('hands out distinct bindable ports below the ephemeral range, never the same twice', async () => {
  const ephemeralLow = Number(
    readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
  )
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()))
  expect(new Set(ports).size).toBe(20)
  for (const p of ports) expect(p).toBeLessThan(ephemeralLow)
  // Each one really is free: bind it (and release it).
  for (const p of ports.slice(0, 3)) {
    await new Promise<void>((resolve, reject) => {
      const srv = createServer()
      srv.once('error', reject)
      srv.listen(p, '127.0.0.1', () => srv.close(() => resolve()))
    })
  }
})
