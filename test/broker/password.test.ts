import { describe, expect, it } from 'vitest'
import { hashPassword, isPasswordHash, verifyPassword } from '../../src/broker/password.js'
import { ERR, isError } from '../../src/errors.js'

describe('password hashes', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('s3cret')
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/)
    expect(isPasswordHash(hash)).toBe(true)
    expect(await verifyPassword('s3cret', hash)).toBe(true)
    expect(await verifyPassword('s3cret ', hash)).toBe(false)
  })

  it('salts: the same password gives different hashes', async () => {
    expect(await hashPassword('pw')).not.toBe(await hashPassword('pw'))
  })

  it('never matches a malformed or hostile hash', async () => {
    expect(await verifyPassword('x', 'plain-text')).toBe(false)
    expect(isPasswordHash('scrypt$1099511627776$8$1$c2FsdHNhbHQ=$a2V5a2V5a2V5a2V5a2V5a2V5')).toBe(
      false,
    )
  })

  it('refuses an empty password', async () => {
    await expect(hashPassword('')).rejects.toSatisfy((e) => isError(e, ERR.BROKER_EMPTY_PASSWORD))
  })
})
