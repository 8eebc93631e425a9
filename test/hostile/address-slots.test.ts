/**
 * One address cannot take every connection place (docs/security.md): the real daemon
 * with TCP on 127.0.0.1 and websocket on ::1, `maxConnectionsPerAddress` 10 of
 * `maxConnections` 30. A client holding its address's places keeps out only more of
 * itself: a device from another address connects and is stored, the refusals are counted
 * under their own reason, and places come back when connections close.
 */
import mqtt from 'mqtt'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ensureBuilt, metric, storedReadings } from '../crash/daemon-process.js'
import { freePort } from '../helpers/net.js'
import { type RawClient, rawConnect } from '../helpers/raw-mqtt.js'
import { waitFor } from '../helpers/wait.js'
import { Target } from './target.js'

const PER_ADDRESS = 10
let t: Target
let wsPort: number

beforeAll(async () => {
  ensureBuilt()
  wsPort = await freePort()
  t = await Target.start({
    embedded: {
      maxConnections: 30,
      maxConnectionsPerAddress: PER_ADDRESS,
      websocket: { host: '::1', port: wsPort },
    },
  })
}, 60_000)

afterAll(async () => {
  await t?.cleanup()
})

const refused = (reason: string) =>
  metric(t.httpPort, `floxgate_refusals_total{reason="${reason}"}`)

it(`one address holds at most ${PER_ADDRESS} connections; another address still gets in, and a closed connection gives its place back`, async () => {
  const idle: RawClient[] = []
  try {
    // The well-behaved sensor holds one place of 127.0.0.1 already: 9 more fit, 5 do not.
    for (let i = 0; i < PER_ADDRESS + 4; i++) idle.push(await rawConnect(t.port))
    await waitFor(() => idle.filter((c) => c.isClosed()).length === 5, {
      what: 'the connections past the per-address bound closed',
    })
    expect(idle.slice(0, PER_ADDRESS - 1).some((c) => c.isClosed())).toBe(false)
    expect(await refused('too-many-from-address')).toBe(5)
    // 10 of 30 places are taken: the total bound was never the reason
    expect(await refused('too-many-connections')).toBe(0)

    // A device on ::1 (another address) connects and its reading is stored.
    // MQTT.js builds its websocket URL from `hostname` as given: the brackets go there
    // (a ws://[::1] URL loses them in its parser).
    const other = await mqtt.connectAsync({
      protocol: 'ws',
      hostname: '[::1]',
      port: wsPort,
      path: '/mqtt',
      clientId: 'v6-sensor',
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    })
    try {
      await other.publishAsync('sensors/v6/telemetry', '{"temperature":19.5}', { qos: 1 })
      expect(storedReadings(t.dbFile, 'v6').size).toBe(1)
    } finally {
      await other.endAsync(true)
    }
    // The sensor that held its place before the flood is still served.
    await t.isWell()
  } finally {
    for (const c of idle) c.socket.destroy()
  }
  // Places are given back as connections close: 127.0.0.1 gets in again.
  await waitFor(
    async () => {
      const c = await t.client({ clientId: 'after' }).catch(() => undefined)
      await c?.endAsync(true)
      return c !== undefined
    },
    { what: 'a client from 127.0.0.1 accepted once the idle ones left' },
  )
  expect(await refused('too-many-from-address')).toBeGreaterThanOrEqual(5)
}, 60_000)
