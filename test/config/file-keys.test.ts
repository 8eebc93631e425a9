import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { checkConfig, formatConfigErrors } from '../../src/config/index.js'
import { tempDir } from '../helpers/tmp.js'

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

function problems(yaml: string, files: Record<string, string> = {}): string[] {
  const { dir, cleanup } = tempDir('floxgate-file-keys-')
  cleanups.push(cleanup)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  const file = join(dir, 'floxgate.yaml')
  writeFileSync(file, yaml)
  const r = checkConfig(file, {})
  return r.ok ? [] : formatConfigErrors(r.problems).split('\n')
}

const external = (extra: string[]) =>
  [
    'broker:',
    '  mode: external',
    '  external:',
    '    url: mqtts://127.0.0.1:8883',
    ...extra,
    '',
  ].join('\n')

describe('config keys naming files', () => {
  it('a missing client certificate fails check-config, with its line', () => {
    const p = problems(external(['    certFile: client.pem', '    keyFile: client.key']), {
      'client.key': 'key',
    })
    expect(p).toEqual([
      expect.stringMatching(
        /^broker\.external\.certFile: cannot read .*client\.pem \(ENOENT\) \(line 5\)$/,
      ),
    ])
  })

  it('a missing key or CA file fails too; the files present pass', () => {
    expect(
      problems(external(['    certFile: c.pem', '    keyFile: k.pem', '    caFile: ca.pem']), {
        'c.pem': 'cert',
      }),
    ).toEqual(
      [
        expect.stringMatching(/^broker\.external\.keyFile: cannot read .*k\.pem/),
        expect.stringMatching(/^broker\.external\.caFile: cannot read .*ca\.pem/),
      ].sort(() => 0),
    )
    expect(
      problems(external(['    certFile: c.pem', '    keyFile: k.pem', '    caFile: ca.pem']), {
        'c.pem': 'cert',
        'k.pem': 'key',
        'ca.pem': 'ca',
      }),
    ).toEqual([])
  })

  it('a certificate without its key is refused', () => {
    expect(problems(external(['    certFile: c.pem']), { 'c.pem': 'cert' })).toEqual([
      expect.stringContaining('broker.external.certFile: certFile is set but keyFile is not'),
    ])
  })

  it("the uplink's CA file and the embedded TLS listener's files are checked when used", () => {
    const p = problems(
      [
        'broker:',
        '  embedded:',
        '    tls: { cert: no-cert.pem, key: no-key.pem }',
        'uplink:',
        '  url: mqtts://127.0.0.1:8883',
        '  caFile: no-ca.pem',
        '',
      ].join('\n'),
    )
    expect(p.map((l) => l.split(':')[0])).toEqual([
      'broker.embedded.tls.cert',
      'broker.embedded.tls.key',
      'uplink.caFile',
    ])
  })

  it('the removed qos keys are refused as unknown (both always use QoS 1)', () => {
    expect(problems(external(['    qos: 0']))[0]).toMatch(/^broker\.external\.qos: unknown key/)
    expect(problems('uplink:\n  url: mqtt://127.0.0.1:1883\n  qos: 1\n')[0]).toMatch(
      /^uplink\.qos: unknown key/,
    )
  })
})

describe('broker.embedded.anonymousPublish', () => {
  it('"any" is refused when anonymous clients could come from the network', () => {
    expect(
      problems(
        'broker:\n  embedded:\n    host: 0.0.0.0\n    allowAnonymous: true\n    anonymousPublish: any\n',
      ),
    ).toEqual([
      expect.stringMatching(
        /^broker\.embedded\.anonymousPublish: "any" lets anonymous clients publish any topic, but the broker listens on 0\.0\.0\.0/,
      ),
    ])
    expect(problems('broker:\n  embedded:\n    anonymousPublish: any\n')).toEqual([])
    expect(
      problems(
        'broker:\n  embedded:\n    host: 0.0.0.0\n    allowAnonymous: false\n    anonymousPublish: any\n',
      ),
    ).toEqual([])
  })
})
