import { describe, expect, it } from 'vitest'
import { Classifier } from '../../src/gateway/classifier.js'
import { device, directory, reading } from './fixtures.js'

const NOW = 1_772_366_400_000

function classifier() {
  const devices = directory(
    [
      device('gh-2', 'dht22', { calibration: { humidity: -2.5, temperature: 1 } }),
      device('probe', 'ds18b20'),
    ],
    { policy: 'dead-letter' },
  )
  return new Classifier({ devices, timestamps: { maxFutureSeconds: 60, maxPastSeconds: 3600 } })
}

describe('Classifier', () => {
  it('applies the calibration offset before anything else', () => {
    const out = classifier().classify(reading('gh-2', 50, NOW, 'humidity'))
    expect(out).toMatchObject({ metric: 'humidity', value: 47.5 })
  })

  it('checks the range after calibration', () => {
    const c = classifier()
    // 79.5 is inside DHT22's -40..80, but 80.5 after the +1 offset is not.
    expect(c.classify(reading('gh-2', 79.5, NOW))).toMatchObject({ reason: 'out-of-range' })
    // 100.5 % RH reads 98 after the -2.5 offset: valid.
    expect(c.classify(reading('gh-2', 100.5, NOW, 'humidity'))).toMatchObject({ value: 98 })
  })

  it('returns the same object when nothing changes', () => {
    const r = reading('probe', -18, NOW)
    expect(classifier().classify(r)).toBe(r)
  })

  it.each([
    [Number.NaN, 'non-finite'],
    [Number.POSITIVE_INFINITY, 'non-finite'],
    [-55.1, 'out-of-range'],
    [125.01, 'out-of-range'],
  ])('refuses %d for a DS18B20 as %s', (value, reason) => {
    expect(classifier().classify(reading('probe', value, NOW))).toMatchObject({ reason })
  })

  it('refuses metrics the profile does not measure and unknown devices', () => {
    const c = classifier()
    expect(c.classify(reading('probe', 40, NOW, 'humidity'))).toMatchObject({
      reason: 'unknown-metric',
    })
    expect(c.classify(reading('nobody', 20, NOW))).toMatchObject({ reason: 'unknown-device' })
  })

  it('does not refuse a timestamp ahead of a clock that cannot be trusted; the past limit still holds', () => {
    let sane = false
    const devices = directory([device('probe', 'ds18b20')], { policy: 'dead-letter' })
    const c = new Classifier({
      devices,
      timestamps: { maxFutureSeconds: 60, maxPastSeconds: 3600 },
      clockSane: () => sane,
    })
    const base = { device: 'probe', metric: 'temperature' as const, value: 4, receivedAt: NOW }
    const aYearAhead = { ...base, ts: NOW + 365 * 86_400_000, tsFromReceive: false }
    expect(c.classify(aYearAhead)).toMatchObject({ value: 4 })
    expect(c.classify({ ...base, ts: NOW - 3_601_000, tsFromReceive: false })).toMatchObject({
      reason: 'timestamp-past',
    })
    sane = true
    expect(c.classify(aYearAhead)).toMatchObject({ reason: 'timestamp-future' })
  })

  it('checks timestamps against the receive time, unless the receive time is the timestamp', () => {
    const c = classifier()
    const base = { device: 'probe', metric: 'temperature' as const, value: 4, receivedAt: NOW }
    expect(c.classify({ ...base, ts: NOW + 59_000, tsFromReceive: false })).toMatchObject({
      value: 4,
    })
    expect(c.classify({ ...base, ts: NOW + 61_000, tsFromReceive: false })).toMatchObject({
      reason: 'timestamp-future',
    })
    expect(c.classify({ ...base, ts: NOW - 3_601_000, tsFromReceive: false })).toMatchObject({
      reason: 'timestamp-past',
    })
    expect(c.classify({ ...base, ts: NOW - 3_599_000, tsFromReceive: false })).toMatchObject({
      value: 4,
    })
  })
})
