import { expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import {
  DEVICE_STATE_LIMIT,
  deviceState,
  deviceStateProblem,
} from '../../src/config/memory-limits.js'

const devices = (n: number, profile = 'dht22') =>
  Array.from({ length: n }, (_, i) => ({ id: `d${i}`, profile }))
const accept = (max: number) => ({ policy: 'accept', profile: 'generic', max })

it('counts every device the gateway may track, and a tenth of each device-rule pair', () => {
  // 10,004 devices x 20 rules: 10,004 + 200,080 / 10 = 30,012
  const rules = Array.from({ length: 20 }, () => ({}))
  const over = deviceStateProblem({ devices: devices(4), rules, unknownDevices: accept(10_000) })
  expect(over).toContain('200080 device-rule pairs: 10004 + 200080 / 10 = 30012, over the 30000')
  // 19 rules fit
  const fits = { devices: devices(4), rules: rules.slice(1), unknownDevices: accept(10_000) }
  expect(deviceStateProblem(fits)).toBeUndefined()
  // unknown devices that are dead-lettered keep no state
  const deadLetter = { policy: 'dead-letter', profile: 'generic', max: 10_000 }
  expect(deviceStateProblem({ devices: devices(4), rules, unknownDevices: deadLetter })).toBe(
    undefined,
  )
})

it('counts a filtered rule only for the devices it can apply to', () => {
  const many = Array.from({ length: 1000 }, () => ({ profiles: ['bme280'] }))
  // no bme280 device, and unknown devices get the generic profile: no pairs
  const input = { devices: devices(10_000), rules: many, unknownDevices: accept(10_000) }
  expect(deviceStateProblem(input)).toBeUndefined()
  // listed ids count once each, configured or not (an unknown one may arrive)
  const listed = Array.from({ length: 1000 }, () => ({ devices: ['d1', 'nobody', 'd1'] }))
  const r = deviceStateProblem({
    devices: devices(20_000),
    rules: listed,
    unknownDevices: accept(0),
  })
  expect(r).toBeUndefined()
  const generic = Array.from({ length: 10 }, () => ({ profiles: ['generic'] }))
  const g = deviceStateProblem({
    devices: devices(1),
    rules: generic,
    unknownDevices: accept(25_000),
  })
  expect(g).toContain(`25001 + 250000 / 10 = 50001, over the ${DEVICE_STATE_LIMIT}`)
})

it("the example config's 4 devices, 6 rules and unknown devices make 16,007 of 30,000", () => {
  const c = loadConfig('config/floxgate.example.yaml', {})
  expect(deviceState(c)).toEqual({ tracked: 10_004, pairs: 60_024, total: 16_007 })
})
