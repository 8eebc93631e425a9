import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { ERR } from '../errors.js'

/**
 * Password hashes for the embedded broker's users, as a self-describing string:
 * `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>`. The parameters travel with the hash
 * so they can be raised later without invalidating old hashes.
 */

const PREFIX = 'scrypt'
// N=2^14, r=8 costs 16 MB and some tens of ms on a Raspberry Pi: verification happens
// once per CONNECT, so this is affordable and still expensive to brute-force.
const DEFAULT = { N: 16384, r: 8, p: 1 } as const
const SALT_BYTES = 16
const KEY_BYTES = 32
// Bounds on parameters read back from a config, so a crafted hash cannot exhaust memory
// or the CPU: one verification costs 128·N·r bytes (at most 64 MiB) and p passes of it.
const MAX_N = 1 << 17
const MAX_R = 16
const MAX_P = 4
const MAX_MEMORY_BYTES = 64 * 1024 * 1024
/** What `passwordHash` must look like, for config messages. */
export const PASSWORD_HASH_FORMAT = `scrypt$N$r$p$salt$hash from \`floxgate hash-password\` (N a power of 2 ≤ ${MAX_N}, r ≤ ${MAX_R}, p ≤ ${MAX_P}, 128·N·r ≤ 64 MiB)`

interface ParsedHash {
  readonly N: number
  readonly r: number
  readonly p: number
  readonly salt: Buffer
  readonly key: Buffer
}

function derive(plain: string, salt: Buffer, N: number, r: number, p: number, len: number) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(plain, salt, len, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    )
  })
}

/** Hashes a password with a random salt; the result is what the config stores. */
export async function hashPassword(plain: string): Promise<string> {
  if (plain.length === 0) throw ERR.BROKER_EMPTY_PASSWORD()
  const salt = randomBytes(SALT_BYTES)
  const { N, r, p } = DEFAULT
  const key = await derive(plain, salt, N, r, p, KEY_BYTES)
  return [PREFIX, N, r, p, salt.toString('base64'), key.toString('base64')].join('$')
}

function parseHash(hash: string): ParsedHash | undefined {
  const parts = hash.split('$')
  if (parts.length !== 6 || parts[0] !== PREFIX) return undefined
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return undefined
  if (!Number.isInteger(r) || r < 1 || r > MAX_R) return undefined
  if (!Number.isInteger(p) || p < 1 || p > MAX_P) return undefined
  if (128 * N * r > MAX_MEMORY_BYTES) return undefined
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(parts[4]!) || !/^[A-Za-z0-9+/]+={0,2}$/.test(parts[5]!)) {
    return undefined
  }
  const salt = Buffer.from(parts[4]!, 'base64')
  const key = Buffer.from(parts[5]!, 'base64')
  if (salt.length < 8 || key.length < 16 || key.length > 128) return undefined
  return { N, r, p, salt, key }
}

/** Bytes one verification against `hash` allocates (scrypt's 128·N·r); 0 when malformed. */
export function verifyMemoryBytes(hash: string): number {
  const parsed = parseHash(hash)
  return parsed === undefined ? 0 : 128 * parsed.N * parsed.r
}

/** What a verification against the default parameters allocates (unknown usernames). */
export const DEFAULT_VERIFY_MEMORY_BYTES = 128 * DEFAULT.N * DEFAULT.r

/** True when `hash` has the shape `hashPassword` produces (for config validation). */
export function isPasswordHash(hash: string): boolean {
  return parseHash(hash) !== undefined
}

/** Constant-time check of `plain` against a stored hash; a malformed hash never matches. */
export async function verifyPassword(plain: string, hash: string): Promise<boolean> {
  const parsed = parseHash(hash)
  if (!parsed) return false
  const key = await derive(plain, parsed.salt, parsed.N, parsed.r, parsed.p, parsed.key.length)
  return timingSafeEqual(key, parsed.key)
}

let dummyHash: Promise<string> | undefined
/**
 * Spends the same time as a real verification, so an unknown username cannot be told
 * apart from a wrong password by timing.
 */
export async function verifyAgainstDummy(plain: string): Promise<false> {
  dummyHash ??= hashPassword('floxgate-dummy-password')
  await verifyPassword(plain, await dummyHash)
  return false
}
