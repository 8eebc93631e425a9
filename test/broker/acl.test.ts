import { describe, expect, it } from 'vitest'
import { expandPattern, mayPublish, maySubscribe } from '../../src/broker/acl.js'

const device = { publish: ['sensors/{username}/#'], subscribe: ['config/{clientid}/#'] }

describe('ACL', () => {
  it('lets a device publish only under its own topics', () => {
    const who = { username: 'd1', clientId: 'c1' }
    expect(mayPublish(device, who, 'sensors/d1/telemetry')).toBe(true)
    expect(mayPublish(device, who, 'sensors/d2/telemetry')).toBe(false)
    expect(maySubscribe(device, who, 'config/c1/+')).toBe(true)
    expect(maySubscribe(device, who, 'config/#')).toBe(false)
  })

  it('grants nothing when a substituted value would widen the pattern', () => {
    expect(expandPattern('sensors/{username}/#', { username: '+', clientId: 'c' })).toBeUndefined()
    expect(
      expandPattern('sensors/{username}/#', { username: 'a/b', clientId: 'c' }),
    ).toBeUndefined()
    expect(
      expandPattern('sensors/{username}/#', { username: undefined, clientId: 'c' }),
    ).toBeUndefined()
    expect(mayPublish(device, { username: '#', clientId: 'c' }, 'sensors/x/telemetry')).toBe(false)
  })
})
