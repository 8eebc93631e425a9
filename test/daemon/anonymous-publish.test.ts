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
    // QoS 1: the broker answers a refused message too, so the PUBACK is the moment to check
    await app.client.publishAsync('irrigation/valve-2/state', 'open', { qos: 1 })
    if (mode === 'any') {
      await waitFor(() => watcher.received.some((m) => m.topic === 'irrigation/valve-2/state'), {
        what: 'the other program’s message',
      })
      expect(await refusals()).toBe(0)
    } else {
      expect(await refusals()).toBe(1)
    }
    await app.close()
  })

  it('nobody but the gateway publishes an alert, and sensors still report', async () => {
    const before = await refusals()
    const app = await connectClient(gw.port)
    await app.client.publishAsync('floxgate/alerts/boiler/temperature', '{"state":"raised"}', {
      qos: 1,
    })
    expect(await refusals()).toBe(before + 1)
    await app.close()
    const sensor = await connectClient(gw.port)
    await sensor.client.publishAsync(
      'sensors/boiler/telemetry',
      telemetry({ temperature: 21 }, t0),
      { qos: 1 },
    )
    expect(gw.db.readings('boiler').map((r) => r.value)).toEqual([21])
    // the forged alert never reached the watcher, which sees every topic
    expect(watcher.received.some((m) => m.topic === 'floxgate/alerts/boiler/temperature')).toBe(
      false,
    )
    await sensor.close()
  })
})
