import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { expect, it } from 'vitest'
import { writePacketNumbersWithoutTable } from '../../src/mqtt/packet-writer.js'

const require = createRequire(import.meta.url)

// The switch is a property of one copy of mqtt-packet: if npm ever installed a second
// copy under aedes or MQTT.js, the brokers would write with a table nobody turned off.
it('turns off the number table of the mqtt-packet that aedes and MQTT.js write with', () => {
  const ours = require.resolve('mqtt-packet')
  const fromAedes = createRequire(require.resolve('aedes')).resolve('mqtt-packet')
  const fromMqtt = createRequire(`${dirname(require.resolve('mqtt'))}/`).resolve('mqtt-packet')
  expect(fromAedes).toBe(ours)
  expect(fromMqtt).toBe(ours)
  writePacketNumbersWithoutTable()
  expect(require('mqtt-packet').writeToStream.cacheNumbers).toBe(false)
})
