import { describe, expect, it } from 'vitest'
import { ERR, type ErrorFactory, isError } from '../../src/errors.js'
import { EXIT } from '../../src/exit-codes.js'
import { classify } from '../../src/uplink/influxdb-target.js'
import { resolveMqttOptions } from '../../src/uplink/options.js'

const factories = Object.entries(ERR) as [string, ErrorFactory<never[]>][]

describe('src/errors.ts', () => {
  it('gives every code once, under its own name', () => {
    const codes = factories.map(([, f]) => f.code)
    expect(new Set(codes).size).toBe(codes.length)
    for (const [name, f] of factories) expect(f.code).toBe(`FLX_ERR_${name}`)
  })

  it('declares the CLI exit code with the error instead of deriving it from the code', () => {
    const exits = new Set<number>(Object.values(EXIT))
    for (const [, f] of factories) expect(exits.has(f.exitCode)).toBe(true)
    expect(ERR.CONFIG_INVALID.exitCode).toBe(EXIT.USAGE)
    for (const f of [ERR.STORE_CORRUPT, ERR.STORE_OPEN_FAILED, ERR.STORE_NEWER_SCHEMA]) {
      expect(f.exitCode).toBe(EXIT.DATABASE)
    }
    // A full disk frees up: restarting is right, so it is a runtime failure, not exit 3.
    expect(ERR.STORE_FULL.exitCode).toBe(EXIT.FAILURE)
    expect(ERR.ENGINE_TIMEOUT.exitCode).toBe(EXIT.FAILURE)
  })

  it('carries the exit code on the error it builds', () => {
    expect(ERR.STORE_CORRUPT('/x.db', 'not a database').exitCode).toBe(EXIT.DATABASE)
    expect(ERR.CONFIG_INVALID('/x.yaml', 'a: b', 1).exitCode).toBe(EXIT.USAGE)
    expect(ERR.BROKER_CLOSED('t').exitCode).toBe(EXIT.FAILURE)
  })

  it('has one code for a bad MQTT url or CA file, naming the setting (uplink and broker alike)', () => {
    const uplink = { gatewayId: 'gw', version: '1' }
    expect(() => resolveMqttOptions({ ...uplink, url: 'http://127.0.0.1:1883' })).toThrow(
      expect.toSatisfy(
        (e: unknown) => isError(e, ERR.MQTT_BAD_URL) && e.message.startsWith('uplink.url "http:'),
      ),
    )
    expect(() =>
      resolveMqttOptions({ ...uplink, url: 'mqtts://127.0.0.1:1', caFile: '/nonexistent/ca.pem' }),
    ).toThrow(
      expect.toSatisfy(
        (e: unknown) =>
          isError(e, ERR.MQTT_CA_UNREADABLE) && e.message.startsWith('uplink.caFile "/nonexistent'),
      ),
    )
  })

  it("says what an upstream's answer means with a declared code: retried, or refused for good", () => {
    const retried = classify(503, '{"error":"engine: cache maximum memory size exceeded"}')
    expect(retried.kind).toBe('failed')
    const err = retried.kind === 'failed' ? retried.error : undefined
    expect(isError(err, ERR.UPLINK_UPSTREAM_FAILED)).toBe(true)
    expect((err as Error).message).toMatch(/^InfluxDB answered 503: engine: cache maximum/)
    expect((err as Error).message).toContain('sent again after a backoff')
    // 400: the data is wrong, sending it again cannot help
    expect(classify(400, '{"error":"bad timestamp"}')).toEqual({
      kind: 'rejected',
      reason: 'InfluxDB answered 400: bad timestamp',
    })
    expect(ERR.UPLINK_UPSTREAM_REJECTED('InfluxDB answered 400: x').message).toMatch(
      /kept as dead letters/,
    )
  })
})
