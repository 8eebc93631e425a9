import { ERR } from '../errors.js'
import {
  type Acl,
  type AclSubject,
  DENY_ALL,
  expandPattern,
  mayPublish,
  maySubscribe,
} from './acl.js'
import { AuthThrottle, VerifySlots } from './auth-throttle.js'
import { MAX_CLIENT_ID_BYTES, MAX_PASSWORD_BYTES, MAX_USERNAME_BYTES } from './limits.js'
import {
  DEFAULT_VERIFY_MEMORY_BYTES,
  verifyAgainstDummy,
  verifyMemoryBytes,
  verifyPassword,
} from './password.js'
import type { RefusalReason } from './refusal.js'
import { isValidFilter, matchTopic } from './topic-filter.js'

/** A device or client account of the embedded broker. */
export interface BrokerUser {
  readonly username: string
  /** From `hashPassword` (`floxgate hash-password`). */
  readonly passwordHash: string
  readonly acl: Acl
}

export interface AccessOptions {
  readonly users?: readonly BrokerUser[]
  /** Accept clients without a username; the daemon decides (e.g. loopback only). */
  readonly allowAnonymous: boolean
  /** What anonymous clients may do; default: nothing. */
  readonly anonymousAcl?: Acl
}

export type AuthResult =
  | { readonly ok: true; readonly username: string | undefined; readonly acl: Acl }
  | {
      readonly ok: false
      readonly reason: RefusalReason
      readonly returnCode: 2 | 3 | 4 | 5
      readonly detail: string
    }

/** Who connects: what the CONNECT says and where it came from. */
export interface ConnectAttempt {
  readonly clientId: string
  readonly username: string | undefined
  readonly password: Buffer | undefined
  /** The peer's IP address; undefined when the transport does not tell. */
  readonly address: string | undefined
}

/** Who may connect and what each may publish or subscribe to. */
export class AccessPolicy {
  private readonly users = new Map<string, BrokerUser>()
  /** Publish filters of each account, `{username}` filled in: topics the account owns. */
  private readonly owned: { readonly username: string; readonly filter: string }[] = []
  private readonly throttle = new AuthThrottle()
  private readonly slots: VerifySlots

  constructor(
    private readonly opts: AccessOptions,
    private readonly now: () => number = Date.now,
  ) {
    for (const u of opts.users ?? []) {
      checkAcl(`users.${u.username}.acl`, u.acl)
      this.users.set(u.username, u)
      for (const p of u.acl.publish) {
        // `{clientid}` entries depend on the connecting client: they own nothing fixed.
        if (p.includes('{clientid}')) continue
        const filter = expandPattern(p, { username: u.username, clientId: '' })
        if (filter !== undefined) this.owned.push({ username: u.username, filter })
      }
    }
    if (opts.anonymousAcl) checkAcl('anonymousAcl', opts.anonymousAcl)
    this.slots = new VerifySlots(verificationsAtOnce(opts.users ?? []))
  }

  /** The account whose ACL owns `topic` (its publish filters cover it), if any. */
  ownerOf(topic: string): string | undefined {
    for (const o of this.owned) if (matchTopic(o.filter, topic)) return o.username
    return undefined
  }

  /** True when `clientId` is an account's username and the client is not that account. */
  clientIdOwnedByOther(clientId: string, username: string | undefined): boolean {
    return clientId !== username && this.users.has(clientId)
  }

  async authenticate(a: ConnectAttempt): Promise<AuthResult> {
    const { username, password } = a
    if (Buffer.byteLength(a.clientId) > MAX_CLIENT_ID_BYTES) {
      return {
        ok: false,
        reason: 'bad-client-id',
        returnCode: 2,
        detail: `client id longer than ${MAX_CLIENT_ID_BYTES} bytes`,
      }
    }
    if (username !== undefined && Buffer.byteLength(username) > MAX_USERNAME_BYTES) {
      return {
        ok: false,
        reason: 'bad-credentials',
        returnCode: 4,
        detail: `username longer than ${MAX_USERNAME_BYTES} bytes`,
      }
    }
    if (username === undefined || username === '') {
      if (this.opts.allowAnonymous) {
        return { ok: true, username: undefined, acl: this.opts.anonymousAcl ?? DENY_ALL }
      }
      return {
        ok: false,
        reason: 'anonymous-refused',
        returnCode: 5,
        detail: 'anonymous clients are not allowed: give the device a username and password',
      }
    }
    const wait = this.throttle.blockedFor(a.address, username, this.now())
    if (wait > 0) {
      return {
        ok: false,
        reason: 'auth-throttled',
        returnCode: 3,
        detail: `too many failed logins from this address or for this username; refused without checking for ${Math.ceil(wait / 1000)} s`,
      }
    }
    if (password !== undefined && password.length > MAX_PASSWORD_BYTES) {
      this.throttle.failed(a.address, username, this.now())
      return {
        ok: false,
        reason: 'bad-credentials',
        returnCode: 4,
        detail: `password longer than ${MAX_PASSWORD_BYTES} bytes`,
      }
    }
    const plain = password?.toString('utf8') ?? ''
    const user = this.users.get(username)
    const verifying = this.slots.run(
      () => (user ? verifyPassword(plain, user.passwordHash) : verifyAgainstDummy(plain)),
      this.throttle.isKnown(a.address, username),
    )
    if (verifying === undefined) {
      return {
        ok: false,
        reason: 'auth-throttled',
        returnCode: 3,
        detail: 'too many logins being checked at once; refused without checking',
      }
    }
    const ok = await verifying
    if (ok && user) {
      this.throttle.succeeded(a.address, username)
      return { ok: true, username, acl: user.acl }
    }
    this.throttle.failed(a.address, username, this.now())
    return {
      ok: false,
      reason: 'bad-credentials',
      returnCode: 4,
      detail: user ? 'wrong password' : 'unknown username',
    }
  }

  mayPublish(acl: Acl, who: AclSubject, topic: string): boolean {
    return mayPublish(acl, who, topic)
  }

  maySubscribe(acl: Acl, who: AclSubject, filter: string): boolean {
    return maySubscribe(acl, who, filter)
  }
}

/** Memory all verifications running at once may take (scrypt allocates outside the heap). */
const VERIFY_MEMORY_BUDGET = 64 * 1024 * 1024

/**
 * 2 verifications at once, or 1 when the costliest hash needs more than half the budget:
 * two 64 MiB verifications took the daemon to 217 MB RSS under a flood of wrong passwords.
 */
export function verificationsAtOnce(users: readonly BrokerUser[]): number {
  const costliest = Math.max(
    DEFAULT_VERIFY_MEMORY_BYTES,
    ...users.map((u) => verifyMemoryBytes(u.passwordHash)),
  )
  return Math.max(1, Math.min(2, Math.floor(VERIFY_MEMORY_BUDGET / costliest)))
}

function checkAcl(where: string, acl: Acl): void {
  for (const p of [...acl.publish, ...acl.subscribe, ...(acl.publishDeny ?? [])]) {
    const sample = p.replace(/\{(username|clientid)\}/g, 'x')
    if (!isValidFilter(sample)) throw ERR.BROKER_BAD_FILTER(where, p)
  }
}
