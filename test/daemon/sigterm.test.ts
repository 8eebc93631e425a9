import { afterAll, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { useDaemon, withDeadline } from './cli-process.js'
import { connectClient, type RecordingClient, telemetry } from './harness.js'

// A slow group commit keeps many readings pending when SIGTERM arrives.
const scene = useDaemon({ store: { batch: { maxRows: 500, maxDelayMs: 100, qos0DelayMs: 100 } } })
let sensor: RecordingClient | undefined
afterAll(async () => {
  await sensor?.close()
})

it('SIGTERM while a sensor sends QoS 1: exit 0 within 5 s and every PUBACKed reading is in SQLite', async () => {
  const { cfg, daemon, db } = scene
  sensor = await connectClient(cfg.brokerPort)
  const client = sensor.client
  const acked: number[] = []
  const t0 = Date.now() - 600_000
  let stop = false
  // Sixteen publishes in flight at any time, until the gateway stops answering.
  const lanes = Array.from({ length: 16 }, async (_, lane) => {
    for (let i = 0; !stop; i++) {
      const ts = t0 + i * 16 + lane
      try {
        await client.publishAsync('sensors/line/telemetry', telemetry({ temperature: 20 }, ts), {
          qos: 1,
        })
        acked.push(ts)
      } catch {
        return
      }
    }
  })
  await waitFor(() => acked.length >= 100, { what: '100 acknowledged readings' })

  const signalled = Date.now()
  daemon.child.kill('SIGTERM')
  const code = await withDeadline(daemon.exited, 5000, 'exit after SIGTERM')
  const took = Date.now() - signalled
  stop = true
  // The gateway is gone: publishes still waiting for a PUBACK never get one.
  client.end(true)
  void lanes
  expect(code).toBe(0)
  expect(took).toBeLessThan(5000)

  const stored = new Set(db.readings('line').map((r) => r.ts))
  const lost = acked.filter((ts) => !stored.has(ts))
  expect(acked.length).toBeGreaterThanOrEqual(100)
  expect(lost).toEqual([])
  const stopping = daemon.logs.find((l) => /^stopping/.test(l.msg))
  expect(stopping?.signal).toBe('SIGTERM')
  expect(daemon.logs.some((l) => l.msg === 'stopped cleanly')).toBe(true)
})
