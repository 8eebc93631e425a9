/**
 * The files a config names (TLS certificates, keys and CAs) must be readable, so
 * `check-config` and `start` refuse a typo in a path instead of the daemon failing later
 * at connect time. Only the files the config actually uses are checked: the external
 * broker's in external mode, the uplink's when it is enabled, the embedded TLS
 * listener's when it is configured.
 */
import { accessSync, constants, statSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import type { ParsedConfig } from './schema.js'

type Found = { path: PropertyKey[]; message: string }

export function fileCheck(c: ParsedConfig, dir: string): Found[] {
  const found: Found[] = []
  const need = (path: PropertyKey[], file: string | undefined) => {
    if (file === undefined) return
    const full = isAbsolute(file) ? file : resolve(dir, file)
    let why: string | undefined
    try {
      accessSync(full, constants.R_OK)
      if (!statSync(full).isFile()) why = 'not a file'
    } catch (err) {
      why = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    }
    if (why !== undefined) found.push({ path, message: `cannot read ${full} (${why})` })
  }
  if (c.broker.mode === 'external') {
    const x = c.broker.external
    need(['broker', 'external', 'caFile'], x.caFile)
    need(['broker', 'external', 'certFile'], x.certFile)
    need(['broker', 'external', 'keyFile'], x.keyFile)
    // a client certificate is a pair: one without the other cannot authenticate
    if ((x.certFile === undefined) !== (x.keyFile === undefined)) {
      const missing = x.certFile === undefined ? 'certFile' : 'keyFile'
      const given = x.certFile === undefined ? 'keyFile' : 'certFile'
      found.push({
        path: ['broker', 'external', given],
        message: `${given} is set but ${missing} is not: a client certificate needs both`,
      })
    }
  }
  if (c.broker.mode === 'embedded' && c.broker.embedded.tls) {
    need(['broker', 'embedded', 'tls', 'cert'], c.broker.embedded.tls.cert)
    need(['broker', 'embedded', 'tls', 'key'], c.broker.embedded.tls.key)
  }
  if (c.uplink?.enabled) need(['uplink', 'caFile'], c.uplink.caFile)
  return found
}
