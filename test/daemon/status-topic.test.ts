import { afterEach, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { connectClient, startGateway, writeTestConfig } from './harness.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

it('broker.statusTopic: the retained online status goes to the configured topic', async () => {
  const cfg = await writeTestConfig({ broker: { statusTopic: 'site-7/{gateway}/availability' } })
  cleanups.push(() => cfg.cleanup())
  const gw = await startGateway(cfg.file)
  cleanups.push(() => gw.stop())
  const watcher = await connectClient(gw.port)
  cleanups.push(() => watcher.close())
  await watcher.client.subscribeAsync('#', { qos: 1 })
  const status = await waitFor(
    () => watcher.received.find((m) => m.topic === 'site-7/gw-test/availability'),
    { what: 'the status on the configured topic' },
  )
  expect(status.retain).toBe(true)
  expect(JSON.parse(status.payload)).toMatchObject({ gateway: 'gw-test', state: 'online' })
  // The default topic is not used.
  expect(watcher.received.some((m) => m.topic.endsWith('/status'))).toBe(false)
})
