/**
 * A reading without a timestamp is told from its redelivery by MQTT itself: the DUP flag,
 * the session, the packet id and the content (docs/storage.md, "Identity of a reading").
 * Packet ids are reused: a sensor that restarts numbers from 1 again, and every sender
 * wraps at 65535. A redelivery after a crash must not be matched to an older message
 * that used the same id and said the same thing: that reading was never stored, and
 * acknowledging its redelivery as a copy would lose it.
 */
import { afterAll, afterEach, expect, it } from 'vitest'
import { killAll, startDaemon } from '../daemon/cli-process.js'
import { openReader, type TestConfig, writeTestConfig } from '../daemon/harness.js'
import { type RawSession, rawSession } from '../helpers/raw-mqtt.js'
import { waitFor } from '../helpers/wait.js'
import { metric } from './daemon-process.js'

let cfg: TestConfig | undefined
const raws: RawSession[] = []
afterEach(async () => {
  for (const r of raws.splice(0)) r.close()
  await killAll()
})
afterAll(() => cfg?.cleanup())

async function connect(port: number): Promise<RawSession> {
  const r = await rawSession(port, 'rebooting-sensor')
  raws.push(r)
  return r
}

const fast = { batch: { maxRows: 100, maxDelayMs: 10, qos0DelayMs: 10, commitWhenIdle: true } }
/** Nothing commits for a minute: what arrives stays in the batch until the SIGKILL. */
const held = {
  batch: { maxRows: 100, maxDelayMs: 60_000, qos0DelayMs: 60_000, commitWhenIdle: false },
}

function values(): number[] {
  const db = openReader(cfg!.dbFile)
  try {
    return db.readings('door').map((r) => r.value)
  } finally {
    db.close()
  }
}

it('a sensor that restarted its packet ids: the redelivery of a message lost in a crash is stored, not taken for the older message with the same id and content', async () => {
  cfg = await writeTestConfig({ log: { level: 'info' }, http: { enabled: true }, store: fast })
  const topic = 'sensors/door/temperature'
  let daemon = await startDaemon(cfg.file)
  // Its first run: packet id 5 says 21.5, stored and acknowledged.
  let sensor = await connect(cfg.brokerPort)
  await sensor.publish(topic, '21.5', 5, false)
  sensor.close()
  // It restarts and numbers from 1 again.
  sensor = await connect(cfg.brokerPort)
  for (let id = 1; id <= 4; id++) await sensor.publish(topic, '20', id, false)
  sensor.close()
  expect(values()).toEqual([21.5, 20, 20, 20, 20])
  expect(await daemon.stop()).toBe(0)

  // Id 5 again, a new message saying 21.5: received, still in the batch, then a crash.
  cfg.rewrite({ store: held })
  daemon = await startDaemon(cfg.file)
  sensor = await connect(cfg.brokerPort)
  void sensor.publish(topic, '21.5', 5, false)
  await waitFor(async () => (await metric(cfg!.httpPort, 'floxgate_readings_in_total')) === 1, {
    what: 'the message taken by the workflow',
  })
  await daemon.kill()
  sensor.close()
  expect(values()).toHaveLength(5)

  // After the restart the sensor delivers it again, with DUP set: it must be stored.
  cfg.rewrite({ store: fast })
  daemon = await startDaemon(cfg.file)
  sensor = await connect(cfg.brokerPort)
  await sensor.publish(topic, '21.5', 5, true)
  expect(values()).toEqual([21.5, 20, 20, 20, 20, 21.5])
  // and a lost PUBACK of that one is still recognised: stored once, also after a crash
  await sensor.publish(topic, '21.5', 5, true)
  expect(values()).toHaveLength(6)
  await daemon.kill()
  sensor.close()
  daemon = await startDaemon(cfg.file)
  sensor = await connect(cfg.brokerPort)
  await sensor.publish(topic, '21.5', 5, true)
  expect(values()).toHaveLength(6)
  expect(await daemon.stop()).toBe(0)
})
