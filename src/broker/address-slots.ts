import { isIPv6 } from 'node:net'

/**
 * Connection places per remote address, so that one address cannot take every place of
 * `maxConnections` (each connection may hold an unfinished packet until aedes' 30 s
 * CONNECT timeout) and keep every other sensor out.
 *
 * An IPv4 address is one key (an IPv4-mapped IPv6 address counts as its IPv4 one). An
 * IPv6 address counts by its /64 prefix: a host is usually given a whole /64 and can
 * pick any address in it, so a per-address count would bound nothing there.
 */
export class AddressSlots {
  readonly #open = new Map<string, number>()

  constructor(readonly max: number) {}

  /** The key an address counts under (also what a refusal names). */
  static keyOf(address: string | undefined): string {
    if (address === undefined || address === '') return 'unknown'
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
    if (mapped !== null) return mapped[1]!
    if (!isIPv6(address)) return address
    return `${prefix64(address)}::/64`
  }

  /** Takes a place for `key`; false when `max` are already open from it. */
  take(key: string): boolean {
    const n = this.#open.get(key) ?? 0
    if (n >= this.max) return false
    this.#open.set(key, n + 1)
    return true
  }

  /** Gives back a place taken for `key` (its connection closed). */
  release(key: string): void {
    const n = this.#open.get(key) ?? 0
    // Deleted at 0, so the map holds only addresses with open connections: bounded by
    // maxConnections, whatever number of addresses come and go.
    if (n <= 1) this.#open.delete(key)
    else this.#open.set(key, n - 1)
  }

  /** Connections open from `key`. */
  openFrom(key: string): number {
    return this.#open.get(key) ?? 0
  }
}

/** The first four groups of an IPv6 address, written out (`2001:db8:0:0`). */
function prefix64(address: string): string {
  const zone = address.indexOf('%')
  const bare = zone === -1 ? address : address.slice(0, zone)
  const [head = '', tail] = bare.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  // An embedded IPv4 tail (::ffff:… handled above, others rare) takes two groups.
  const rightGroups = right.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0)
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(8 - left.length - rightGroups).fill('0'), ...right]
  return groups
    .slice(0, 4)
    .map((g) => (g.replace(/^0+(?=.)/, '') || '0').toLowerCase())
    .join(':')
}
