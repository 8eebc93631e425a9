import { spawnSync } from 'node:child_process'
import { expect, it } from 'vitest'
import { verifyPassword } from '../../src/broker/password.js'

function hashPassword(input: string) {
  return spawnSync(process.execPath, ['build/cli/main.js', 'hash-password'], {
    input,
    encoding: 'utf8',
    timeout: 20_000,
  })
}

it('prints a hash of the password read on stdin, which verifies', async () => {
  const r = hashPassword('s3cret\n')
  expect(r.status).toBe(0)
  const hash = r.stdout.trim()
  expect(hash).not.toContain('s3cret')
  expect(await verifyPassword('s3cret', hash)).toBe(true)
  expect(await verifyPassword('other', hash)).toBe(false)
})

it('refuses an empty password with a one-line hint and exit 2', () => {
  const r = hashPassword('')
  expect(r.status).toBe(2)
  expect(r.stderr).toContain('no password given on standard input')
})
