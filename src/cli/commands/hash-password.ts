import { createInterface } from 'node:readline'
import { hashPassword } from '../../broker/password.js'
import { EXIT } from '../../exit-codes.js'

/**
 * Prints a password hash for `broker.embedded.users[].passwordHash`. The password is read
 * from standard input (one line), so it stays out of the shell history and `ps`.
 */
export async function hashPasswordCommand(
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  if (process.stdin.isTTY) err('password (input is not hidden; pipe it in to avoid the terminal):')
  const rl = createInterface({ input: process.stdin, terminal: false })
  let line: string | undefined
  for await (const l of rl) {
    line = l
    break
  }
  rl.close()
  if (line === undefined || line === '') {
    err('no password given on standard input: echo -n "secret" | floxgate hash-password')
    return EXIT.USAGE
  }
  out(await hashPassword(line))
  return EXIT.OK
}
