/**
 * Throttles failed authentication per source address and per username, so a flood of
 * wrong passwords costs a few scrypt runs, not one per CONNECT:
 * - the first `freeFailures` failures of a key are free; each one after that blocks the
 *   key for twice as long as the last (1 s, 2 s, ... up to `maxBlockMs`);
 * - a blocked CONNECT is refused at once, before any scrypt work;
 * - a key silent for `forgetMs` starts over; a success clears it.
 * A username's block does not apply from an address it logged in from before (a known
 * pair): otherwise anyone who knows a device's username could keep it locked out with one
 * wrong password a minute, from addresses of their own (measured: a device refused 47 of
 * 59 logins in a minute from 93 wrong ones over 250 loopback addresses).
 * Memory is bounded: at most `maxKeys` keys and `maxKeys` known pairs, the least recent
 * evicted first.
 */
export interface AuthThrottleOptions {
  readonly freeFailures?: number
  readonly maxBlockMs?: number
  readonly forgetMs?: number
  readonly maxKeys?: number
}

interface Strikes {
  failures: number
  lastAt: number
  blockedUntil: number
}

export class AuthThrottle {
  private readonly keys = new Map<string, Strikes>()
  /** `username \n address` pairs that logged in, least recent first. */
  private readonly known = new Map<string, true>()
  private readonly freeFailures: number
  private readonly maxBlockMs: number
  private readonly forgetMs: number
  private readonly maxKeys: number

  constructor(o: AuthThrottleOptions = {}) {
    this.freeFailures = o.freeFailures ?? 5
    this.maxBlockMs = o.maxBlockMs ?? 60_000
    this.forgetMs = o.forgetMs ?? 10 * 60_000
    this.maxKeys = o.maxKeys ?? 4096
  }

  get size(): number {
    return this.keys.size
  }

  /** Milliseconds until this address/username may try again; 0 when not blocked. */
  blockedFor(address: string | undefined, username: string | undefined, now: number): number {
    let wait = 0
    const keys = this.isKnown(address, username)
      ? keysOf(address, undefined)
      : keysOf(address, username)
    for (const k of keys) {
      const s = this.live(k, now)
      if (s !== undefined && s.blockedUntil > now) wait = Math.max(wait, s.blockedUntil - now)
    }
    return wait
  }

  failed(address: string | undefined, username: string | undefined, now: number): void {
    for (const k of keysOf(address, username)) {
      const s = this.live(k, now) ?? { failures: 0, lastAt: now, blockedUntil: 0 }
      s.failures++
      s.lastAt = now
      const over = s.failures - this.freeFailures
      if (over > 0) s.blockedUntil = now + Math.min(this.maxBlockMs, 1000 * 2 ** (over - 1))
      // re-inserted last: the map's order is least recently failed first
      this.keys.delete(k)
      this.keys.set(k, s)
      if (this.keys.size > this.maxKeys) {
        const oldest = this.keys.keys().next().value
        if (oldest !== undefined) this.keys.delete(oldest)
      }
    }
  }

  /**
   * Clears the address's count and makes the pair known. The username's count stays: it
   * no longer applies from here, and clearing it would give whoever guesses from other
   * addresses 5 free tries each time the device logs in.
   */
  succeeded(address: string | undefined, username: string | undefined): void {
    for (const k of keysOf(address, undefined)) this.keys.delete(k)
    if (address === undefined || address === '' || username === undefined) return
    const pair = `${username}\n${address}`
    this.known.delete(pair)
    this.known.set(pair, true)
    if (this.known.size > this.maxKeys) {
      const oldest = this.known.keys().next().value
      if (oldest !== undefined) this.known.delete(oldest)
    }
  }

  /** True when `username` logged in from `address` before (and is still remembered). */
  isKnown(address: string | undefined, username: string | undefined): boolean {
    if (address === undefined || address === '' || username === undefined) return false
    return this.known.has(`${username}\n${address}`)
  }

  private live(k: string, now: number): Strikes | undefined {
    const s = this.keys.get(k)
    if (s !== undefined && now - s.lastAt > this.forgetMs && s.blockedUntil <= now) {
      this.keys.delete(k)
      return undefined
    }
    return s
  }
}

function keysOf(address: string | undefined, username: string | undefined): string[] {
  const out: string[] = []
  if (address !== undefined && address !== '') out.push(`a:${address}`)
  if (username !== undefined && username !== '') out.push(`u:${username}`)
  return out
}

/**
 * At most `max` password verifications run at once (scrypt uses libuv's thread pool,
 * which file system calls and the health checks share); up to `queue` more wait, and
 * beyond that a CONNECT is refused at once as "server unavailable". Known pairs (see
 * AuthThrottle) wait in a queue of their own, served first, so a flood of wrong passwords
 * from many addresses does not refuse a device that logged in before.
 */
export class VerifySlots {
  private running = 0
  private readonly waiting: (() => void)[] = []
  private readonly waitingKnown: (() => void)[] = []

  constructor(
    private readonly max = 2,
    private readonly queue = 32,
  ) {}

  /** Runs `fn` in a slot; undefined (without running it) when every slot and queue place is taken. */
  run<T>(fn: () => Promise<T>, known = false): Promise<T> | undefined {
    const line = known ? this.waitingKnown : this.waiting
    if (this.running >= this.max && line.length >= this.queue) return undefined
    return (async () => {
      if (this.running >= this.max) await new Promise<void>((r) => line.push(r))
      else this.running++
      try {
        return await fn()
      } finally {
        const next = this.waitingKnown.shift() ?? this.waiting.shift()
        if (next !== undefined) next()
        else this.running--
      }
    })()
  }
}
