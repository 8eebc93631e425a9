import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * A self-signed certificate for 127.0.0.1 made with openssl, as an admin would, in `dir`:
 * its files (for Mosquitto's certfile/keyfile, or as a CA file) and their contents.
 */
export function selfSignedCert(dir: string): {
  certFile: string
  keyFile: string
  cert: Buffer
  key: Buffer
} {
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  )
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) }
}
