/**
 * Measures bytes written to disk per reading (flash wear). Not a test: run it with
 *   npx esbuild test/store/measure-wear.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=/tmp/measure-wear.mjs && node /tmp/measure-wear.mjs [dir]
 * It writes 100,000 readings from 100 devices x 2 metrics in batches of 500 to a store
 * in a temp folder on disk (not tmpfs) and reads /proc/self/io before and after.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Metric } from '../../src/gateway/reading.js'
import { openStore } from '../../src/store/index.js'
import { readingItem } from './fixtures.js'

function io(): { writeBytes: number; wchar: number } {
  const text = readFileSync('/proc/self/io', 'utf8')
  const field = (name: string) =>
    Number(new RegExp(`${name}: (\\d+)`).exec(text)?.[1] ?? Number.NaN)
  return { writeBytes: field('write_bytes'), wchar: field('wchar') }
}

function run(durability: 'normal' | 'full', withOutbox: boolean): void {
  const dir = mkdtempSync(join(process.argv[2] ?? tmpdir(), 'floxgate-wear-'))
  const store = openStore({ file: join(dir, 'floxgate.db'), durability, batchMaxRows: 500 })
  const total = 100_000
  const metrics: Metric[] = ['temperature', 'humidity']
  const t0 = Date.now()
  const before = io()
  const started = performance.now()
  for (let i = 0; i < total; i += 500) {
    for (let k = 0; k < 500; k++) {
      const n = i + k
      const device = `sensor-${String((n >> 1) % 100).padStart(3, '0')}`
      const metric = metrics[n % 2]!
      // One reading per device and metric every second; values like a real sensor's.
      const ts = t0 + Math.floor(n / 200) * 1000
      const value = Math.round((metric === 'temperature' ? 21 : 45) * 10 + Math.random() * 50) / 10
      const payload = JSON.stringify({ device, metric, value, ts })
      const reading = { device, metric, value, ts, receivedAt: ts + 7, tsFromReceive: false }
      const outbox = [{ stream: 'readings', topic: `up/${device}/${metric}`, payload }] as const
      store.write(readingItem({ reading, outbox: withOutbox ? outbox : undefined }))
    }
    store.flush()
  }
  store.close()
  const seconds = (performance.now() - started) / 1000
  const after = io()
  const perReading = (after.writeBytes - before.writeBytes) / total
  const wcharPer = (after.wchar - before.wchar) / total
  console.log(
    `${durability.padEnd(6)} outbox=${withOutbox ? 'yes' : 'no '}  write_bytes/reading=${perReading.toFixed(1)}  wchar/reading=${wcharPer.toFixed(1)}  readings/s=${Math.round(total / seconds)}`,
  )
  rmSync(dir, { recursive: true, force: true })
}

for (const d of ['normal', 'full'] as const) {
  run(d, false)
  run(d, true)
}
