// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text with ${VAR} references
/**
 * Hostile or careless config files through the real CLI (`check-config` and `start` as
 * child processes): each must end with its documented exit code and one sentence that
 * says what to do, never a bare library message, never a secret echoed back.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, metric, root } from '../crash/daemon-process.js'
import { runCli, startDaemon } from '../daemon/cli-process.js'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/tmp.js'
import { RSS_BOUND_MB as BOUND, peakRssMb, Target, unitEnv } from './target.js'

const RSS_BOUND_MB = BOUND
const tmp = tempDir('floxgate-hostile-config-')
let n = 0

/** A config file from lines; each test gets its own data folder. */
function config(lines: readonly string[]): { file: string; dataDir: string } {
  const dir = join(tmp.dir, `c${n++}`)
  const dataDir = join(dir, 'data')
  mkdirSync(dataDir, { recursive: true })
  const file = join(dir, 'floxgate.yaml')
  writeFileSync(file, lines.join('\n').replaceAll('DATA_DIR', dataDir))
  return { file, dataDir }
}

beforeAll(() => ensureBuilt(), 60_000)
afterAll(() => tmp.cleanup())

describe('hostile configs end with an exit code and a sentence', () => {
  it('(12) a YAML alias bomb: exit 2 from check-config and start, not a heap blow-up', async () => {
    const letters = 'abcdefghi'
    const { file } = config([
      `a: &a ["x","x","x","x","x","x","x","x","x","x"]`,
      ...[...letters.slice(1)].map(
        (l, i) => `${l}: &${l} [${Array(10).fill(`*${letters[i]}`).join(',')}]`,
      ),
    ])
    for (const cmd of ['check-config', 'start']) {
      const r = await runCli([cmd, '--config', file])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/YAML aliases: .* write the repeated values out, or use fewer/)
      expect(r.stderr).toMatch(/\b1 problem/)
    }
  }, 30_000)

  it('(12) a database path that is a folder: start exits 3 naming the path and the fix', async () => {
    const port = await freePort()
    const { file, dataDir } = config([
      'gateway: { id: gw, dataDir: DATA_DIR }',
      `broker: { embedded: { host: 127.0.0.1, port: ${port} } }`,
      'http: { enabled: false }',
    ])
    mkdirSync(join(dataDir, 'floxgate.db'))
    const r = await runCli(['start', '--config', file])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain(
      `the database path ${join(dataDir, 'floxgate.db')} is a folder, not a database file`,
    )
    expect(r.stderr).toContain('[FLX_ERR_STORE_NOT_A_FILE]')
    expect(r.stderr).not.toContain('EISDIR')
  }, 30_000)

  it('(12) ${VAR} fills a number and a boolean where the schema takes one', async () => {
    const port = await freePort()
    const { file } = config([
      'gateway: { id: gw, dataDir: DATA_DIR }',
      'broker:',
      '  embedded:',
      '    host: 127.0.0.1',
      '    port: ${MQTT_PORT:-1883}',
      'http: { enabled: "${HTTP_ON:-false}" }',
      'alerts: { qos: "${ALERT_QOS}" }',
      'unknownDevices:',
      '  max: ${MAX_UNKNOWN:-50}',
    ])
    const env = { MQTT_PORT: String(port), ALERT_QOS: '0' }
    const check = await runCli(['check-config', file], 15_000, env)
    expect(check.stderr).toBe('')
    expect(check.stdout).toContain(`embedded broker on 127.0.0.1:${port}`)
    expect(check.code).toBe(0)
    // and the daemon listens there
    const d = await startDaemon(file, { env })
    const ready = d.logs.find((l) => l.msg === 'floxgate is ready')
    expect(JSON.stringify(d.logs)).toContain(String(port))
    expect(ready).toBeDefined()
    expect(await d.stop()).toBe(0)
    // a variable that is not a number where one is wanted stays a clear error
    const bad = await runCli(['check-config', file], 15_000, { ...env, MQTT_PORT: 'eighteen' })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('broker.embedded.port: expected a number, got "eighteen"')
  }, 30_000)

  it('(4) config errors never echo a password, token or passwordHash', async () => {
    const secrets = ['hunter2-plain', 'tok-short', 'upl1nk-s3cret', 'url-pa55word']
    const { file } = config([
      'gateway: { id: gw, dataDir: DATA_DIR }',
      'broker:',
      '  embedded:',
      '    users:',
      `      - { username: greenhouse-1, passwordHash: ${secrets[0]} }`,
      `http: { host: 0.0.0.0, token: ${secrets[1]} }`,
      'uplink:',
      `  url: mqtt://gw:${secrets[3]}@127.0.0.1:1883`,
      `  password: [${secrets[2]}]`,
      '  enabled: maybe',
    ])
    for (const cmd of ['check-config', 'start']) {
      const r = await runCli([cmd, '--config', file])
      expect(r.code).toBe(2)
      // the problems are still named, at their paths
      expect(r.stderr).toContain('broker.embedded.users[0].passwordHash: expected')
      expect(r.stderr).toContain('(not shown: a secret)')
      expect(r.stderr).toContain('http.token: expected at least 16 characters')
      expect(r.stderr).toContain('uplink.password: expected a string')
      for (const s of secrets) expect(r.stderr + r.stdout).not.toContain(s)
    }
  }, 30_000)

  it("(11) check-config and start agree on what fits under the unit's heap", async () => {
    // The V8 flags start runs under: the unit's NODE_OPTIONS, the same as npm start's.
    const unit = readFileSync(join(root, 'systemd/floxgate.service'), 'utf8')
    const flags = /NODE_OPTIONS=([^"\n]+)"/.exec(unit)?.[1] ?? ''
    expect(flags).toContain('--max-old-space-size=128')
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>
    }
    expect(pkg.scripts.start).toContain(`node ${flags} build/cli/main.js`)
    const env = { NODE_OPTIONS: flags }
    const port = await freePort()
    const head = [
      'gateway: { id: gw, dataDir: DATA_DIR }',
      `broker: { embedded: { host: 127.0.0.1, port: ${port} } }`,
      'http: { enabled: false }',
      'rules:',
      '  - { id: silent, staleSeconds: 120 }',
      '  - { id: too-hot, metric: temperature, high: 30 }',
      'devices:',
    ]
    const device = (i: number) => [
      `  - id: dev-${String(i).padStart(5, '0')}`,
      '    profile: dht22',
      `    name: Device ${i}`,
      '    location: greenhouse',
    ]
    // The issue's 40,000 devices (3.5 MB): passed the check, then a heap OOM at start.
    const huge = config([...head, ...Array.from({ length: 40_000 }, (_, i) => device(i)).flat()])
    // 10,001 short entries fit the file limit but not the device limit.
    const many = config([...head, ...Array.from({ length: 10_001 }, (_, i) => `  - { id: d${i} }`)])
    for (const cmd of ['check-config', 'start']) {
      const a = await runCli([cmd, '--config', huge.file], 30_000, env)
      expect(a.code).toBe(2)
      expect(a.stderr).toContain('floxgate reads config files of at most 1.0 MB, because start')
      expect(a.stderr).not.toContain('heap out of memory')
      const b = await runCli([cmd, '--config', many.file], 30_000, env)
      expect(b.code).toBe(2)
      expect(b.stderr).toContain('devices: must list at most 10000 devices: start runs under')
    }
    // At the limit: accepted, and it starts under those flags.
    const fits = config([...head, ...Array.from({ length: 10_000 }, (_, i) => device(i)).flat()])
    const check = await runCli(['check-config', fits.file], 30_000, env)
    expect(check.stdout).toContain('10000 devices')
    expect(check.code).toBe(0)
    const d = await startDaemon(fits.file, { env, timeoutMs: 60_000 })
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${d.child.pid}/status`, 'utf8'))
    expect(Number(rss?.[1]) / 1024).toBeLessThan(RSS_BOUND_MB)
    expect(await d.stop()).toBe(0)
  }, 180_000)
  it('(11) devices times rules that cannot fit are refused by check-config and start (before: accepted, then a heap OOM at start)', async () => {
    // 636 KB: 10,000 devices and 9,000 rules, each rule keeping state per device
    const { file } = config([
      'gateway: { id: gw, dataDir: DATA_DIR }',
      'broker: { embedded: { host: 127.0.0.1, port: 1 } }',
      'http: { enabled: false }',
      'rules:',
      ...Array.from(
        { length: 9000 },
        (_, i) => `  - { id: r${i}, metric: temperature, high: ${i} }`,
      ),
      'devices:',
      ...Array.from({ length: 10_000 }, (_, i) => `  - { id: d${i} }`),
    ])
    for (const cmd of ['check-config', 'start']) {
      const r = await runCli([cmd, '--config', file], 30_000, unitEnv())
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(
        'unknownDevices.max: 10000 configured devices plus up to 10000 unknown ones (unknownDevices.max, policy accept) with 9000 rules make up to 180000000 device-rule pairs',
      )
      expect(r.stderr).toContain(
        'Lower unknownDevices.max, give rules a devices: or profiles: filter',
      )
      expect(r.stderr).not.toContain('heap out of memory')
    }
  }, 60_000)

  it('(11) at the limit, a client publishing under 2,000 fresh ids cannot abort the daemon (before: 36 rules and 10,000 ids, SIGABRT in 18 s)', async () => {
    // the sensor and 2,000 unknown devices with 139 rules: 2,001 + 278,139 / 10 = 29,815 of 30,000
    const rules = Array.from({ length: 139 }, (_, i) => ({
      id: `hot-${i}`,
      metric: 'temperature',
      high: 100 + i,
    }))
    const t = await Target.start({
      // the well-behaved sensor is configured: the unknown places are all taken
      extra: { rules, devices: [{ id: 'good' }], unknownDevices: { policy: 'accept', max: 2000 } },
    })
    try {
      const c = await t.client({ clientId: 'id-cycler' })
      const reading = '{"temperature":21,"humidity":40,"pressure":1000,"battery":90}'
      // 20 in flight at a time, as a client that does not wait for each PUBACK would send
      // (one at a time took 34 s of the suite for the same 2,000 ids).
      for (let i = 0; i < 2000; i += 20) {
        await Promise.all(
          Array.from({ length: 20 }, (_, k) =>
            c.publishAsync(`sensors/fresh-${i + k}/telemetry`, reading, { qos: 1 }),
          ),
        )
      }
      await c.endAsync(true)
      // every fresh id was taken in as a device: the limit was reached, not just approached
      expect(await metric(t.httpPort, 'floxgate_unknown_devices')).toBe(2000)
      expect(peakRssMb(t.pid)).toBeLessThan(RSS_BOUND_MB)
      await t.isWell()
    } finally {
      await t.cleanup()
    }
  }, 120_000)

  it('(7) a plain text or too costly passwordHash is refused by check-config and start, with its path', async () => {
    const salt = 'YqyZkqfT3wEiBlF+M+gZaw=='
    const key = 'z/BcI7dtbfPxphqgN2J/2B3Mxe6jysLqDVNCl36u0g4='
    const { file } = config([
      'gateway: { id: gw, dataDir: DATA_DIR }',
      'broker:',
      '  embedded:',
      '    users:',
      '      - { username: plain, passwordHash: hunter2 }',
      // N = 2^20: 1 GiB per verification; p = 64: 64 passes
      `      - { username: costly-n, passwordHash: "scrypt$1048576$8$1$${salt}$${key}" }`,
      `      - { username: costly-p, passwordHash: "scrypt$16384$8$64$${salt}$${key}" }`,
      `      - { username: fine, passwordHash: "scrypt$16384$8$1$${salt}$${key}" }`,
    ])
    for (const cmd of ['check-config', 'start']) {
      const r = await runCli([cmd, '--config', file])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/\b3 problem/)
      for (const i of [0, 1, 2]) {
        expect(r.stderr).toContain(
          `broker.embedded.users[${i}].passwordHash: expected scrypt$N$r$p$salt$hash`,
        )
      }
      expect(r.stderr).not.toContain('users[3]')
      expect(r.stderr).not.toContain('hunter2')
    }
  }, 30_000)
})
