import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { Forwarder, Outbox } from '../../src/uplink/index.js'
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'
import { insertRows, openOutboxDb, outboxCount } from './outbox-db.js'

const { dir, cleanup } = tempDir('floxgate-uplink-tls-')
let mosq: Mosquitto
const cleanups: (() => Promise<void> | void)[] = []

/** A CA, and a server certificate for 127.0.0.1 signed by it (openssl, as an admin would). */
function makeCertificates(): void {
  // No argument contains a space, so a command line reads best as one string.
  const ssl = (cmd: string) => execFileSync('openssl', cmd.split(' '), { cwd: dir, stdio: 'pipe' })
  const key = '-newkey rsa:2048 -nodes'
  for (const ca of ['ca', 'other-ca']) {
    ssl(`req -x509 ${key} -days 2 -subj /CN=${ca} -keyout ${ca}.key -out ${ca}.pem`)
  }
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n')
  ssl(`req ${key} -subj /CN=127.0.0.1 -keyout server.key -out server.csr`)
  ssl(
    'x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem',
  )
}

beforeAll(async () => {
  makeCertificates()
  mosq = await startMosquitto({
    // The helper keeps Mosquitto as root, so it can read the certificates in our temp folder.
    extraConfig: [`certfile ${join(dir, 'server.pem')}`, `keyfile ${join(dir, 'server.key')}`],
  })
})
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
  await mosq?.close()
  cleanup()
})

function setup(
  caFile: string,
  prefix: string,
): { forwarder: Forwarder; db: ReturnType<typeof openOutboxDb> } {
  const db = openOutboxDb(join(dir, `${prefix}.db`))
  insertRows(db, 0, 100)
  const forwarder = new Forwarder(new Outbox(db), {
    url: `mqtts://127.0.0.1:${mosq.port}`,
    caFile,
    gatewayId: 'gw-tls',
    version: 'test',
    topicPrefix: prefix,
    clientId: `fwd-${prefix}`,
    reconnectInitialMs: 50,
    reconnectMaxMs: 200,
  })
  cleanups.push(
    () => {
      db.close()
    },
    () => forwarder.stop(),
  )
  return { forwarder, db }
}

it('forwards over mqtts to a broker whose certificate the configured CA signed', async () => {
  const { forwarder, db } = setup(join(dir, 'ca.pem'), 'tls-ok')
  forwarder.start()
  await waitFor(() => outboxCount(db) === 0, { what: 'outbox drained over TLS' })
  expect(forwarder.stats()).toMatchObject({ connected: true, acked: 100 })
})

it('refuses a broker certificate from another CA and keeps every row', async () => {
  const { forwarder, db } = setup(join(dir, 'other-ca.pem'), 'tls-bad')
  forwarder.start()
  await waitFor(() => forwarder.stats().connectAttempts >= 2, { what: 'two refused attempts' })
  const s = forwarder.stats()
  expect(s.connected).toBe(false)
  expect(s.sent).toBe(0)
  expect(s.lastError).toMatch(/certificate|self.signed|verify/i)
  expect(outboxCount(db)).toBe(100)
})
