/**
 * A device id taken from a payload (rtl_433's model and id, a `device:` template) may hold
 * any character, but floxgate publishes under topics that contain it (alerts, aggregates,
 * Home Assistant states), where MQTT forbids "+" and "#" [MQTT-3.3.2-2]. Mosquitto answers
 * such a PUBLISH by dropping the connection, and MQTT.js resends its QoS 1 publishes after
 * each reconnect: one radio packet would cut the gateway off its broker for good. Such an
 * id is a dead letter, and the publisher itself refuses a wildcard topic with a clear error.
 */
import Database from 'better-sqlite3'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { haObjectId } from '../../src/homeassistant/object-id.js'
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js'
import { waitFor } from '../helpers/wait.js'
import { type MosquittoSub, mosquittoSub } from '../homeassistant/mosquitto-sub.js'
import {
  connectClient,
  type RecordingClient,
  type RunningGateway,
  startGateway,
  type TestConfig,
  writeTestConfig,
} from './harness.js'

let mosquitto: Mosquitto
let cfg: TestConfig
let gw: RunningGateway
let sensor: RecordingClient
let ha: MosquittoSub

beforeAll(async () => {
  // `notice` is where Mosquitto says it dropped a client for a protocol error.
  mosquitto = await startMosquitto({ extraConfig: ['log_type notice'] })
  cfg = await writeTestConfig({
    broker: { mode: 'external', external: { url: mosquitto.url } },
    homeassistant: { enabled: true },
    sensors: {
      topics: [
        { preset: 'rtl_433' },
        { pattern: 'radio/+/json', format: 'json', device: '{model}-{id}' },
      ],
    },
    rules: [{ id: 'overheat', metric: 'temperature', high: 30 }],
  })
  gw = await startGateway(cfg.file)
  sensor = await connectClient(mosquitto.port, { protocolVersion: 5 })
  ha = await mosquittoSub(mosquitto.port, ['floxgate/#'])
}, 30_000)

afterAll(async () => {
  ha?.close()
  await sensor?.close()
  await gw?.stop()
  await mosquitto?.close()
  cfg?.cleanup()
})

it('a device id with "+" or "#" from a payload is a dead letter; the gateway stays on its external broker', async () => {
  const send = (topic: string, payload: string) =>
    sensor.client.publishAsync(topic, payload, { qos: 1 })
  await send('rtl_433/pi/events', '{"model":"Evil#","id":"x/+","temperature_C":45}')
  await send('radio/a/json', '{"model":"Bad+","id":1,"temperature":46}')
  await send('rtl_433/pi/events', '{"model":"Good","id":2,"temperature_C":47}')

  const dead = await waitFor(() => {
    const d = gw.db.deadLetters()
    return d.length >= 2 ? d : undefined
  })
  expect(dead.map((d) => [d.topic, d.reason])).toEqual([
    ['rtl_433/pi/events', 'bad-device-id'],
    ['radio/a/json', 'bad-device-id'],
  ])
  expect(dead[0]?.detail).toMatch(/device id "Evil#-x\/\+" contains the MQTT wildcard/)
  expect(dead[1]?.detail).toMatch(/device id "Bad\+-1" contains the MQTT wildcard/)

  // The next sensor's reading, alert and Home Assistant state all go out as usual.
  await waitFor(() => gw.db.readings('Good-2').length === 1 || undefined)
  await ha.latest('floxgate/gw-test/ha/Good-2/temperature', (m) => m.payload === '47')
  await ha.latest('floxgate/alerts/Good-2/temperature/overheat')
  expect(gw.db.readings().map((r) => r.device)).toEqual(['Good-2'])
  expect(mosquitto.log()).not.toMatch(/protocol error/)
})

it('the publisher refuses a topic with a wildcard, and the connection carries on', async () => {
  const publisher = gw.gateway.broker.publisher
  await expect(
    publisher.publish('floxgate/x/#', 'nope', { qos: 1, retain: false }),
  ).rejects.toThrow(/publishing to floxgate\/x\/# failed \(the topic contains the wildcard "#"/)
  await expect(
    publisher.publish('floxgate/+/y', 'nope', { qos: 0, retain: false }),
  ).rejects.toThrow(/wildcard "\+"/)
  await publisher.publish('floxgate/still/here', 'yes', { qos: 1, retain: false })
  await ha.latest('floxgate/still/here', (m) => m.payload === 'yes')
  expect(mosquitto.log()).not.toMatch(/protocol error/)
})

it('a database from before such ids were refused still starts: its active alert and Home Assistant entities are skipped with a warning, then removed', async () => {
  const legacy = await writeTestConfig({
    homeassistant: { enabled: true },
    sensors: { topics: [{ preset: 'rtl_433' }] },
    rules: [{ id: 'overheat', metric: 'temperature', high: 30 }],
  })
  try {
    let g = await startGateway(legacy.file)
    const s = await connectClient(g.port)
    await s.client.publishAsync('rtl_433/pi/events', '{"model":"Old","id":1,"temperature_C":45}', {
      qos: 1,
    })
    await waitFor(() => g.db.alerts().length === 1 || undefined)
    await s.close()
    await g.stop()
    // What an older floxgate stored for {"model":"Old#","id":1,...}: the same rows under
    // an id with "#".
    const db = new Database(legacy.dbFile)
    db.exec(`UPDATE alert_state SET device = 'Old#-1'; UPDATE series SET device = 'Old#-1';
             UPDATE ha_discovery SET payload = replace(payload, '/ha/Old-1/', '/ha/Old#-1/'),
               topic = replace(topic, '_Old-1_', '_${haObjectId('Old#-1')}_')`)
    db.close()

    g = await startGateway(legacy.file)
    try {
      const skipped = g.logs.filter((l) =>
        String(l.msg).startsWith('could not publish an active alert again at start'),
      )
      expect(skipped.map((l) => l.topic)).toEqual(['floxgate/alerts/Old#-1/temperature/overheat'])
      // Its entities went at the start (2: the sensor and the rule's binary sensor).
      expect(
        g.logs.find((l) => String(l.msg).startsWith('Home Assistant discovery:'))?.msg,
      ).toMatch(/, 2 removed$/)
    } finally {
      await g.stop()
    }
  } finally {
    legacy.cleanup()
  }
})
