import { describe, expect, it } from 'vitest'
import { AddressSlots } from '../../src/broker/address-slots.js'

describe('AddressSlots', () => {
  it('counts IPv4 by address, IPv4-mapped IPv6 as its IPv4, and IPv6 by its /64', () => {
    expect(AddressSlots.keyOf('192.168.1.20')).toBe('192.168.1.20')
    expect(AddressSlots.keyOf('::ffff:192.168.1.20')).toBe('192.168.1.20')
    expect(AddressSlots.keyOf('::1')).toBe('0:0:0:0::/64')
    // every address of one /64 is one key, written out the same whatever the notation
    expect(AddressSlots.keyOf('2001:db8:0:5::1')).toBe('2001:db8:0:5::/64')
    expect(AddressSlots.keyOf('2001:0DB8:0000:0005:ffff:1:2:3')).toBe('2001:db8:0:5::/64')
    expect(AddressSlots.keyOf('2001:db8::5:0:0:7')).toBe('2001:db8:0:0::/64')
    expect(AddressSlots.keyOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(AddressSlots.keyOf('2001:db8:0:6::1')).not.toBe(AddressSlots.keyOf('2001:db8:0:5::1'))
    expect(AddressSlots.keyOf(undefined)).toBe('unknown')
  })

  it('refuses past max per key, gives places back, and forgets keys with none open', () => {
    const slots = new AddressSlots(2)
    expect(slots.take('a')).toBe(true)
    expect(slots.take('a')).toBe(true)
    expect(slots.take('a')).toBe(false)
    expect(slots.take('b')).toBe(true)
    slots.release('a')
    expect(slots.openFrom('a')).toBe(1)
    expect(slots.take('a')).toBe(true)
    slots.release('a')
    slots.release('a')
    slots.release('b')
    expect(slots.openFrom('a')).toBe(0)
    expect(slots.openFrom('b')).toBe(0)
  })
})
