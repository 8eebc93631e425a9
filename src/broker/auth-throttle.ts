/**
 * Throttles failed authentication per source address and per username, so a flood of
 * wrong passwords costs a few scrypt runs, not one per CONNECT:
 * - the first `freeFailures` failures of a key are free; each one after that blocks the
 *   key for twice as long as the last (1 s, 2 s, ... up to `maxBlockMs`);
 * - a blocked CONNECT is refused at once, before any scrypt work;
 * - a key silent for `forgetMs` starts over; a success clears it.
 * Memory is bounded: at most `maxKeys` keys, the least recently failed evicted first.
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
    for (const k of keysOf(address, username)) {
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

  succeeded(address: string | undefined, username: string | undefined): void {
    for (const k of keysOf(address, username)) this.keys.delete(k)
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
 * beyond that a CONNECT is refused at once as "server unavailable".
 */
export class VerifySlots {
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    private readonly max = 2,
    private readonly queue = 32,
  ) {}

  /** Runs `fn` in a slot; undefined (without running it) when every slot and queue place is taken. */
  run<T>(fn: () => Promise<T>): Promise<T> | undefined {
    if (this.running >= this.max && this.waiting.length >= this.queue) return undefined
    return (async () => {
      if (this.running >= this.max) await new Promise<void>((r) => this.waiting.push(r))
      else this.running++
      try {
        return await fn()
      } finally {
        const next = this.waiting.shift()
        if (next !== undefined) next()
        else this.running--
      }
    })()
  }
}
