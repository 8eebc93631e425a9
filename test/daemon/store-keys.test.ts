/**
 * The store's config keys through the daemon: `store.retention.maxAgeDays`,
 * `store.retention.maxSizeMB` and `store.batch.commitWhenIdle` change what the running
 * gateway keeps and when it commits.
 */
import { afterEach, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import {
  connectClient,
  type RunningGateway,
  startGateway,
  type TestConfig,
  writeTestConfig,
} from './harness.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function gateway(
  over: Record<string, unknown>,
): Promise<{ cfg: TestConfig; gw: RunningGateway }> {
  const cfg = await writeTestConfig(over)
  cleanups.push(() => cfg.cleanup())
  const gw = await startGateway(cfg.file)
  cleanups.push(() => gw.stop())
  return { cfg, gw }
}

const DAY = 86_400_000

it('store.retention.maxAgeDays: a retention pass deletes readings older than it, keeps the rest', async () => {
  const { gw } = await gateway({ store: { retention: { maxAgeDays: 1 } } })
  const sensor = await connectClient(gw.port)
  cleanups.push(() => sensor.close())
  const now = Date.now()
  for (const ts of [now - 2 * DAY, now - 0.5 * DAY, now - 60_000]) {
    await sensor.client.publishAsync(
      'sensors/t1/telemetry',
      JSON.stringify({ temperature: 20, ts }),
      {
        qos: 1,
      },
    )
  }
  expect(gw.db.readings('t1').map((r) => r.ts)).toEqual([
    now - 2 * DAY,
    now - 0.5 * DAY,
    now - 60_000,
  ])
  const r = await gw.gateway.store.retain()
  expect(r.deleted.readings).toBe(1)
  expect(gw.db.readings('t1').map((x) => x.ts)).toEqual([now - 0.5 * DAY, now - 60_000])
})

it('store.retention.maxSizeMB: past the cap, the oldest readings are deleted', async () => {
  // 0.15 MB: 12,000 readings pass it (the store starts a size pass by itself once past it).
  const { gw } = await gateway({
    store: { retention: { maxSizeMB: 0.15 } },
    broker: { embedded: { rateLimit: { messagesPerSecond: 0 } } },
  })
  const sensor = await connectClient(gw.port)
  cleanups.push(() => sensor.close())
  const t0 = Date.now() - 3_600_000
  const n = 12_000
  for (let i = 0; i < n; i++) {
    sensor.client.publish(
      `sensors/d${i % 10}/telemetry`,
      JSON.stringify({ temperature: 20 + (i % 7), ts: t0 + i }),
      { qos: 0 },
    )
  }
  await waitFor(() => gw.gateway.store.stats().rowsWritten.reading === n, {
    what: 'every reading committed',
  })
  await gw.gateway.store.retain()
  const kept = gw.db.readings()
  expect(kept.length).toBeGreaterThan(0)
  expect(kept.length).toBeLessThan(n)
  // The oldest went, the newest stayed.
  expect(Math.min(...kept.map((x) => x.ts))).toBe(t0 + n - kept.length)
  expect(Math.max(...kept.map((x) => x.ts))).toBe(t0 + n - 1)
})

it('store.batch.commitWhenIdle: false holds a lone QoS 1 reading (and its PUBACK) until maxRows', async () => {
  const { gw } = await gateway({
    // A QoS 1 message is two rows here (the reading and its delivery record): the third
    // message crosses 5.
    store: { batch: { maxRows: 5, maxDelayMs: 60_000, commitWhenIdle: false } },
  })
  const sensors = await Promise.all([1, 2, 3].map(() => connectClient(gw.port)))
  for (const s of sensors) cleanups.push(() => s.close())
  const acked: number[] = []
  const publish = (i: number) =>
    sensors[i]!.client.publishAsync(
      `sensors/s${i}/telemetry`,
      JSON.stringify({ temperature: 20 + i }),
      { qos: 1 },
    ).then(() => acked.push(i))
  const batches = gw.gateway.store.stats().batches
  const first = publish(0)
  // The reading is in the batch, and it stays there: the input is idle, yet nothing commits.
  await waitFor(() => gw.gateway.store.stats().pending > 0, { what: 'the reading queued' })
  expect(gw.gateway.store.stats().batches).toBe(batches)
  expect(gw.db.readings()).toEqual([])
  expect(acked).toEqual([])
  // The third message fills the batch: one commit, three PUBACKs.
  await Promise.all([first, publish(1), publish(2)])
  expect(acked.sort()).toEqual([0, 1, 2])
  expect(gw.gateway.store.stats().batches).toBe(batches + 1)
  expect(
    gw.db
      .readings()
      .map((r) => r.device)
      .sort(),
  ).toEqual(['s0', 's1', 's2'])
})

it('store.batch.commitWhenIdle: true commits a lone QoS 1 reading at once', async () => {
  const { gw } = await gateway({
    store: { batch: { maxRows: 3, maxDelayMs: 60_000, commitWhenIdle: true } },
  })
  const sensor = await connectClient(gw.port)
  cleanups.push(() => sensor.close())
  // Acknowledged without waiting for maxRows or the 60 s delay.
  await sensor.client.publishAsync('sensors/s0/telemetry', JSON.stringify({ temperature: 20 }), {
    qos: 1,
  })
  expect(gw.db.readings().map((r) => r.device)).toEqual(['s0'])
})

it('store.batch.commitWhenIdle: false still commits at once when 20 PUBACKs wait (a full in-flight window)', async () => {
  const { gw } = await gateway({
    store: { batch: { maxRows: 1000, maxDelayMs: 60_000, commitWhenIdle: false } },
  })
  // aedes reads a client's next bytes only once every PUBLISH of its last read is
  // authorized: 20 senders make 20 held acknowledgements whatever the reads, as 20 in
  // flight from one external broker would.
  const sensors = await Promise.all(Array.from({ length: 20 }, () => connectClient(gw.port)))
  for (const s of sensors) cleanups.push(() => s.close())
  const acked: number[] = []
  const publish = (i: number) =>
    sensors[i]!.client.publishAsync(
      `sensors/w${i}/telemetry`,
      JSON.stringify({ temperature: 20 + (i % 5) }),
      { qos: 1 },
    ).then(() => acked.push(i))
  const batches = gw.gateway.store.stats().batches
  const first = Array.from({ length: 19 }, (_, i) => publish(i))
  // 19 wait, the input is idle, and nothing commits: 19 is under the window.
  await waitFor(() => gw.gateway.store.stats().pending === 19, { what: '19 messages queued' })
  expect(gw.gateway.store.stats().batches).toBe(batches)
  expect(acked).toEqual([])
  // The 20th fills the window: one commit at the next idle moment, 20 PUBACKs, long
  // before maxDelayMs (60 s) or maxRows (1000).
  await Promise.all([...first, publish(19)])
  expect(acked).toHaveLength(20)
  expect(gw.gateway.store.stats().batches).toBe(batches + 1)
  expect(gw.db.readings()).toHaveLength(20)
})
