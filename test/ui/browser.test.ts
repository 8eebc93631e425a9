/// <reference lib="dom" />
/**
 * The status page in a real browser: Debian's Chromium, headless, driven by
 * puppeteer-core, against a running gateway. FLOXGATE_SCREENSHOT=docs/ui.png writes the
 * screenshot the README shows.
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import puppeteer, { type Browser } from 'puppeteer-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { telemetry } from '../daemon/harness.js'
import { type PageScene, startPageScene } from './page-scene.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
let s: PageScene
let browser: Browser

beforeAll(async () => {
  s = await startPageScene({
    devices: [
      { id: 'loft', profile: 'dht22', name: 'Loft', location: 'attic' },
      { id: 'cellar', profile: 'bme280', name: 'Cellar', location: 'basement' },
    ],
    rules: [{ id: 'overheat', metric: 'temperature', high: 24, severity: 'critical' }],
  })
  // Half an hour of readings a minute apart, so the hour chart has points to draw.
  const t0 = Date.now() - 30 * 60_000
  for (let i = 0; i < 30; i++) {
    const ts = t0 + i * 60_000
    const wave = Math.sin(i / 5)
    await s.sensor.client.publishAsync(
      'sensors/loft/telemetry',
      telemetry({ temperature: 21 + 2 * wave, humidity: 55 - 5 * wave }, ts),
      { qos: 1 },
    )
    await s.sensor.client.publishAsync(
      'sensors/cellar/telemetry',
      telemetry({ temperature: 12 + wave / 2, humidity: 80, pressure: 1013 + wave }, ts),
      { qos: 1 },
    )
  }
  // Older readings that only the range picker's day and week views load from SQLite.
  for (const [ageMs, temperature] of [
    [5 * 3_600_000, 19.5],
    [3 * 86_400_000, 18.5],
  ] as const) {
    await s.sensor.client.publishAsync(
      'sensors/loft/telemetry',
      telemetry({ temperature }, Date.now() - ageMs),
      { qos: 1 },
    )
  }
  await s.sensor.client.publishAsync('sensors/cellar/telemetry', '{"temperature": "warm"}', {
    qos: 1,
  })
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // CI runs as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu'],
  })
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await s?.close()
})

it('shows the devices, draws their charts, and a new reading appears within 2 s of its publish', async () => {
  const page = await browser.newPage()
  await page.setViewport({ width: 1100, height: 1000 })
  await page.goto(`${s.http.url}/`)
  await page.waitForSelector('[data-device="loft"] .name', { timeout: 10_000 })
  expect(await page.$eval('[data-device="loft"] .name', (e) => e.textContent)).toBe('Loft')
  await page.waitForFunction(
    () =>
      (window as unknown as { floxgate: { points(d: string, m: string): number } }).floxgate.points(
        'loft',
        'temperature',
      ) >= 30,
    { timeout: 10_000 },
  )
  // The chart's canvas really has the line on it (non-blank pixels).
  const inked = await page.$eval('[data-device="loft"] [data-metric="temperature"] canvas', (c) => {
    const canvas = c as HTMLCanvasElement
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data
    let n = 0
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++
    return n
  })
  expect(inked).toBeGreaterThan(200)
  await page.waitForSelector('#live.ok', { timeout: 10_000 })

  const points = () =>
    page.evaluate(() =>
      (window as unknown as { floxgate: { points(d: string, m: string): number } }).floxgate.points(
        'loft',
        'temperature',
      ),
    )
  const drawn = await points()
  const published = Date.now()
  await s.sensor.client.publishAsync(
    'sensors/loft/telemetry',
    telemetry({ temperature: 27.7 }, Date.now()),
    { qos: 1 },
  )
  // The value shows, and the chart grew by that point, without a reload.
  await page.waitForFunction(
    (before: number) =>
      document
        .querySelector('[data-device="loft"] [data-metric="temperature"] .value')
        ?.textContent?.includes('27.7') &&
      (window as unknown as { floxgate: { points(d: string, m: string): number } }).floxgate.points(
        'loft',
        'temperature',
      ) ===
        before + 1,
    { timeout: 2000 },
    drawn,
  )
  const seenAfterMs = Date.now() - published
  expect(seenAfterMs).toBeLessThan(2000)
  await page.waitForFunction(
    () => document.querySelector('#alerts')?.textContent?.includes('overheat'),
    { timeout: 5000 },
  )
  await page.waitForFunction(
    () =>
      document.querySelector('#dead-letters')?.textContent?.includes('not-a-number') ||
      document.querySelector('#dead-letters')?.textContent?.includes('invalid'),
    { timeout: 5000 },
  )

  const shot = process.env.FLOXGATE_SCREENSHOT ?? join(s.cfg.dir, 'ui.png')
  await page.screenshot({ path: shot as `${string}.png`, fullPage: true })
  expect(statSync(shot).size).toBeGreaterThan(10_000)
  await page.close()
}, 60_000)

it('fits a phone screen without sideways scrolling', async () => {
  const page = await browser.newPage()
  await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true })
  await page.goto(`${s.http.url}/`)
  await page.waitForFunction(() => document.body.dataset.ready === '1', { timeout: 10_000 })
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }))
  expect(scroll).toBeLessThanOrEqual(width)
  await page.close()
}, 60_000)

it('the range picker loads the last day and the last week from SQLite', async () => {
  const page = await browser.newPage()
  await page.setViewport({ width: 1100, height: 1000 })
  await page.goto(`${s.http.url}/`)
  await page.waitForFunction(() => document.body.dataset.ready === '1', { timeout: 10_000 })
  const points = () =>
    page.evaluate(() =>
      (window as unknown as { floxgate: { points(d: string, m: string): number } }).floxgate.points(
        'loft',
        'temperature',
      ),
    )
  const hour = await points()
  expect(hour).toBeGreaterThanOrEqual(30)
  // The unit comes with the API: the value reads "… °C".
  expect(
    await page.$eval(
      '[data-device="loft"] [data-metric="temperature"] .value',
      (e) => e.textContent,
    ),
  ).toMatch(/°C$/)

  // Each range is read from SQLite: the day has one reading more than the hour, the week two.
  const showRange = async (rangeMs: string, expected: number) => {
    await page.select('#range', rangeMs)
    await page.waitForFunction(
      (n) =>
        (
          window as unknown as { floxgate: { points(d: string, m: string): number } }
        ).floxgate.points('loft', 'temperature') === n,
      { timeout: 10_000 },
      expected,
    )
  }
  await showRange('86400000', hour + 1)
  await showRange('604800000', hour + 2)
  await showRange('3600000', hour)
  expect(await points()).toBe(hour)
  await page.close()
}, 60_000)
