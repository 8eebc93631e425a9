import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import {
  connectClient,
  type RecordingClient,
  type RunningGateway,
  startGateway,
  type TestConfig,
  telemetry,
  writeTestConfig,
} from './harness.js'

/** `broker.embedded.anonymousPublish`, through the daemon's YAML. */
describe.each(['sensors', 'any'] as const)('anonymousPublish: %s', (mode) => {
  let cfg: TestConfig
  let gw: RunningGateway
  let watcher: RecordingClient
  const t0 = Date.now() - 600_000

  const refusals = async () => {
    const text = await gw.metrics.registry.metrics()
    return Number(/floxgate_refusals_total\{reason="acl-publish"\} (\d+)/.exec(text)?.[1] ?? 0)
  }
  const closedBy = (c: RecordingClient) =>
    new Promise<void>((r) => c.client.once('close', () => r()))

  beforeAll(async () => {
    cfg = await writeTestConfig({ broker: { embedded: { anonymousPublish: mode } } })
    gw = await startGateway(cfg.file)
    watcher = await connectClient(gw.port)
    await watcher.client.subscribeAsync('#', { qos: 1 })
  })
  afterAll(async () => {
    await watcher?.close()
    await gw?.stop()
    cfg?.cleanup()
  })

  it(`another local program ${mode === 'any' ? 'may' : 'may not'} publish its own topics`, async () => {
    const app = await connectClient(gw.port)
    const closed = closedBy(app)
    app.client.publish('irrigation/valve-2/state', 'open', { qos: 0 })
    if (mode === 'any') {
      await waitFor(() => watcher.received.some((m) => m.topic === 'irrigation/valve-2/state'), {
        what: 'the other program’s message',
      })
      expect(await refusals()).toBe(0)
      await app.close()
    } else {
      await closed
      expect(await refusals()).toBe(1)
    }
  })

  it('nobody but the gateway publishes an alert, and sensors still report', async () => {
    const before = await refusals()
    const app = await connectClient(gw.port)
    const closed = closedBy(app)
    app.client.publish('floxgate/alerts/boiler/temperature', '{"state":"raised"}', { qos: 0 })
    await closed
    expect(await refusals()).toBe(before + 1)
    expect(watcher.received.some((m) => m.topic === 'floxgate/alerts/boiler/temperature')).toBe(
      false,
    )
    const sensor = await connectClient(gw.port)
    await sensor.client.publishAsync(
      'sensors/boiler/telemetry',
      telemetry({ temperature: 21 }, t0),
      { qos: 1 },
    )
    expect(gw.db.readings('boiler').map((r) => r.value)).toEqual([21])
    await sensor.close()
  })
})
