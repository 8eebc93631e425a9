import { ERR } from '../errors.js'
import { type Acl, type AclSubject, DENY_ALL, mayPublish, maySubscribe } from './acl.js'
import { verifyAgainstDummy, verifyPassword } from './password.js'
import type { RefusalReason } from './refusal.js'
import { isValidFilter } from './topic-filter.js'

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
      readonly returnCode: 4 | 5
      readonly detail: string
    }

/** Who may connect and what each may publish or subscribe to. */
export class AccessPolicy {
  private readonly users = new Map<string, BrokerUser>()

  constructor(private readonly opts: AccessOptions) {
    for (const u of opts.users ?? []) {
      checkAcl(`users.${u.username}.acl`, u.acl)
      this.users.set(u.username, u)
    }
    if (opts.anonymousAcl) checkAcl('anonymousAcl', opts.anonymousAcl)
  }

  async authenticate(
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<AuthResult> {
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
    const plain = password?.toString('utf8') ?? ''
    const user = this.users.get(username)
    const ok = user
      ? await verifyPassword(plain, user.passwordHash)
      : await verifyAgainstDummy(plain)
    if (ok && user) return { ok: true, username, acl: user.acl }
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

function checkAcl(where: string, acl: Acl): void {
  for (const p of [...acl.publish, ...acl.subscribe]) {
    const sample = p.replace(/\{(username|clientid)\}/g, 'x')
    if (!isValidFilter(sample)) throw ERR.BROKER_BAD_FILTER(where, p)
  }
}
