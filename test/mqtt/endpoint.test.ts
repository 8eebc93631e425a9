import { describe, expect, it } from 'vitest'
import { ERR, isError } from '../../src/errors.js'
import { endpointName, parseMqttUrl, readTlsFile } from '../../src/mqtt/endpoint.js'
import { statusPayload } from '../../src/mqtt/status.js'

function thrown(f: () => unknown): unknown {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}

describe('the broker URL of every MQTT.js connection (external broker, MQTT uplinks)', () => {
  it('defaults the port per scheme, strips IPv6 brackets and decodes URL credentials', () => {
    expect(parseMqttUrl('k', 'mqtt://broker.lan')).toMatchObject({ protocol: 'mqtt', port: 1883 })
    const e = parseMqttUrl('k', 'mqtts://gw%401:p%3Ass@[::1]:8884')
    expect(e).toEqual({
      protocol: 'mqtts',
      host: '::1',
      port: 8884,
      username: 'gw@1',
      password: 'p:ss',
    })
    // Named for logs with the brackets back and without the credentials.
    expect(endpointName(e)).toBe('mqtts://[::1]:8884')
  })

  it('refuses what is not an MQTT address, naming the config key', () => {
    for (const raw of ['', 'http://broker:1883', 'mqtt://', 'not a url']) {
      const err = thrown(() => parseMqttUrl('uplinks[0].url', raw))
      expect(isError(err, ERR.MQTT_BAD_URL)).toBe(true)
      expect((err as Error).message).toContain('uplinks[0].url')
    }
    const err = thrown(() => readTlsFile('broker.external.caFile', '/nonexistent/ca.pem'))
    expect(isError(err, ERR.MQTT_CA_UNREADABLE)).toBe(true)
    expect((err as Error).message).toContain('broker.external.caFile')
  })
})

describe('the status payload', () => {
  it('is one JSON shape for online, offline and the Last Will', () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5)
    expect(JSON.parse(statusPayload('gw-1', '1.2.3', 'offline', at).toString())).toEqual({
      gateway: 'gw-1',
      state: 'offline',
      version: '1.2.3',
      ts: '2026-01-02T03:04:05.000Z',
    })
  })
})
