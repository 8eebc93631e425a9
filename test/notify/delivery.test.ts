import Database from 'better-sqlite3'
import { afterAll, afterEach, expect, it } from 'vitest'
import {
  type AlertMessage,
  connectClient,
  publishSeries,
  type RecordingClient,
  type RunningGateway,
  startGateway,
  type TestConfig,
  writeTestConfig,
} from '../daemon/harness.js'
import { freePort } from '../helpers/net.js'
import { waitFor } from '../helpers/wait.js'
import { type Receiver, startReceiver } from './receiver.js'

/** Short backoff so a test waits milliseconds, not the shipped seconds. */
const FAST_RETRY = { initialSeconds: 0.05, maxSeconds: 0.2 }

let cfg: TestConfig | undefined
let gw: RunningGateway | undefined
let sensor: RecordingClient | undefined
let receiver: Receiver | undefined

afterEach(async () => {
  await sensor?.close()
  await gw?.stop()
  await receiver?.close()
  cfg?.cleanup()
  sensor = gw = receiver = cfg = undefined
})
afterAll(() => {
  delete process.env.FLOXGATE_TEST_HOOK_TOKEN
})

async function start(over: Record<string, unknown>): Promise<void> {
  cfg = await writeTestConfig(over)
  gw = await startGateway(cfg.file)
  sensor = await connectClient(gw.port)
}

/** A counter's value from the running gateway's /metrics text, 0 when absent. */
async function metric(g: RunningGateway, name: string, labels: string): Promise<number> {
  const text = await g.metrics.text()
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

function notificationRows(file: string): { sink: string; failed_at: number | null }[] {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare('SELECT sink, failed_at FROM notifications ORDER BY id').all() as {
      sink: string
      failed_at: number | null
    }[]
  } finally {
    db.close()
  }
}

it('an alert raised while the webhook is down is delivered when it comes up: once, in order, with its headers', async () => {
  process.env.FLOXGATE_TEST_HOOK_TOKEN = 's3cret'
  const port = await freePort()
  await start({
    notify: [
      {
        id: 'ops',
        webhook: {
          url: `http://127.0.0.1:${port}/hook`,
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${ENV} syntax
          headers: { Authorization: 'Bearer ${FLOXGATE_TEST_HOOK_TOKEN}' },
        },
        retry: FAST_RETRY,
      },
    ],
    rules: [{ id: 'overheat', metric: 'temperature', high: 30, hysteresis: 1 }],
  })
  // The alert documents on MQTT, to compare with what the webhook gets.
  await sensor!.client.subscribeAsync('floxgate/alerts/#', { qos: 1 })
  const t0 = Date.now() - 60_000
  // Raised, then cleared, while nothing listens on the port.
  await publishSeries(sensor!.client, 'loft', [25, 31, 32, 20], t0, 1000)
  expect(gw!.db.alerts().map((a) => a.state)).toEqual(['raised', 'cleared'])
  expect(notificationRows(cfg!.dbFile).map((r) => r.sink)).toEqual(['ops', 'ops'])

  // The sink comes up only after the notifier has demonstrably failed to reach it.
  await waitFor(
    async () =>
      (await metric(gw!, 'floxgate_notifications_failed_total', 'sink="ops",reason="network"')) >=
      3,
    { what: 'three failed attempts while the webhook is down' },
  )
  // Logged rate-limited: one line for several failed attempts (one a minute per reason).
  expect(
    gw!.logs.filter((l) =>
      String(l.msg).includes('could not deliver a notification to sink "ops"'),
    ),
  ).toHaveLength(1)
  // The sink being down holds up nothing else: readings are still stored.
  await publishSeries(sensor!.client, 'loft', [21], t0 + 10_000, 1000)
  expect(gw!.db.readings('loft').map((r) => r.value)).toContain(21)
  receiver = await startReceiver(port)

  const got = await waitFor(
    () => (receiver!.requests.length >= 2 ? receiver!.requests : undefined),
    { what: 'both notifications at the webhook' },
  )
  await waitFor(() => notificationRows(cfg!.dbFile).length === 0, {
    what: 'the delivered rows deleted',
  })
  expect(got.map((r) => r.method)).toEqual(['POST', 'POST'])
  expect(got[0]!.headers.authorization).toBe('Bearer s3cret')
  expect(got[0]!.headers['content-type']).toBe('application/json')
  const docs = receiver.json<AlertMessage>('/hook')
  expect(docs.map((d) => d.state)).toEqual(['raised', 'cleared'])
  expect(docs[0]).toMatchObject({ device: 'loft', rule: 'overheat', value: 31, threshold: 30 })
  // The webhook body is the same document as on the MQTT alert topic.
  const onMqtt = await waitFor(() => {
    const m = sensor!.json<AlertMessage>('floxgate/alerts/')
    return m.length >= 2 ? m : undefined
  })
  expect(docs).toEqual(onMqtt)
  expect(await metric(gw!, 'floxgate_notifications_sent_total', 'sink="ops"')).toBe(2)
  expect(receiver.requests).toHaveLength(2)
})

it('ntfy gets a title, message, priority and tags; a sink answering 4xx is not retried and the next notification still goes out', async () => {
  const port = await freePort()
  receiver = await startReceiver(port, (path) => (path === '/reject' ? 400 : 200))
  await start({
    notify: [
      {
        id: 'phone',
        ntfy: { url: `http://127.0.0.1:${port}`, topic: 'greenhouse' },
        retry: FAST_RETRY,
      },
      { id: 'broken', webhook: { url: `http://127.0.0.1:${port}/reject` }, retry: FAST_RETRY },
    ],
    rules: [
      {
        id: 'overheat',
        metric: 'temperature',
        high: 30,
        severity: 'critical',
        notify: ['phone', 'broken'],
      },
      { id: 'quiet', metric: 'temperature', high: 28, notify: [] },
    ],
  })
  const t0 = Date.now() - 60_000
  await publishSeries(sensor!.client, 'loft', [25, 31], t0, 1000)
  const raised = await waitFor(() => receiver!.json('/')[0], { what: 'the ntfy publish' })
  expect(raised).toEqual({
    topic: 'greenhouse',
    title: 'loft: overheat critical',
    message: expect.stringMatching(
      /^alert: temperature 31 \(threshold 30\) at .*, gateway gw-test$/,
    ),
    priority: 5,
    tags: ['rotating_light', 'floxgate', 'loft', 'overheat'],
  })
  await waitFor(
    async () => (await metric(gw!, 'floxgate_notifications_rejected_total', 'sink="broken"')) === 1,
    { what: 'the 4xx counted as refused' },
  )
  expect(
    gw!.logs.some(
      (l) => l.level === 50 && String(l.msg).includes('refused a notification (HTTP 400'),
    ),
  ).toBe(true)

  await publishSeries(sensor!.client, 'loft', [20], t0 + 2000, 1000)
  const cleared = await waitFor(() => receiver!.json('/')[1], { what: 'the cleared ntfy publish' })
  expect(cleared).toMatchObject({ priority: 3, title: 'loft: overheat cleared' })
  // The refused raise was not sent again: the clear behind it went out instead.
  await waitFor(() => receiver!.requests.filter((r) => r.path === '/reject').length === 2, {
    what: 'the clear at the refusing sink',
  })
  await waitFor(() => notificationRows(cfg!.dbFile).every((r) => r.failed_at !== null), {
    what: 'no notification left pending',
  })
  expect(notificationRows(cfg!.dbFile)).toHaveLength(2)
  expect(receiver.requests.filter((r) => r.path === '/reject')).toHaveLength(2)
  // Both refusals are counted, but logged once: the log is rate-limited per sink.
  expect(await metric(gw!, 'floxgate_notifications_rejected_total', 'sink="broken"')).toBe(2)
  expect(gw!.logs.filter((l) => String(l.msg).includes('refused a notification'))).toHaveLength(1)
  // `notify: []` sends nothing: the quiet rule raised too, yet only overheat was notified.
  expect(gw!.db.alerts().filter((a) => a.rule === 'quiet')).toHaveLength(2)
  expect(receiver.json<{ title: string }>('/').every((d) => d.title.includes('overheat'))).toBe(
    true,
  )
})

it('repeatMinutes reminds while the alert stays raised', async () => {
  const port = await freePort()
  receiver = await startReceiver(port)
  await start({
    notify: [{ id: 'ops', webhook: { url: `http://127.0.0.1:${port}/hook` }, retry: FAST_RETRY }],
    // 0.01 minutes = 600 ms.
    rules: [{ id: 'overheat', metric: 'temperature', high: 30, repeatMinutes: 0.01 }],
  })
  await publishSeries(sensor!.client, 'loft', [25, 31], Date.now() - 1000, 500)
  const docs = await waitFor(
    () => {
      const d = receiver!.json<AlertMessage & { reminder?: boolean }>('/hook')
      return d.length >= 3 ? d : undefined
    },
    { what: 'the raise and two reminders' },
  )
  expect(docs[0]).toMatchObject({ state: 'raised', rule: 'overheat' })
  expect(docs[0]!.reminder).toBeUndefined()
  expect(docs.slice(1, 3).map((d) => [d.state, d.reminder])).toEqual([
    ['raised', true],
    ['raised', true],
  ])
})

it('a notification still waiting when floxgate stops is delivered after the restart, with its attempts kept', async () => {
  const port = await freePort()
  await start({
    notify: [{ id: 'ops', webhook: { url: `http://127.0.0.1:${port}/hook` }, retry: FAST_RETRY }],
    rules: [{ id: 'overheat', metric: 'temperature', high: 30 }],
  })
  await publishSeries(sensor!.client, 'loft', [25, 31], Date.now() - 5000, 1000)
  await waitFor(
    async () =>
      (await metric(gw!, 'floxgate_notifications_failed_total', 'sink="ops",reason="network"')) >=
      2,
    { what: 'failed attempts while the webhook is down' },
  )
  await sensor!.close()
  await gw!.stop()
  const waiting = new Database(cfg!.dbFile, { readonly: true })
  const row = waiting.prepare('SELECT sink, attempts FROM notifications').get() as {
    sink: string
    attempts: number
  }
  waiting.close()
  expect(row.sink).toBe('ops')
  expect(row.attempts).toBeGreaterThanOrEqual(2)

  receiver = await startReceiver(port)
  gw = await startGateway(cfg!.file)
  sensor = await connectClient(gw.port)
  const docs = await waitFor(
    () => (receiver!.requests.length > 0 ? receiver!.json<AlertMessage>('/hook') : undefined),
    {
      what: 'the notification after the restart',
    },
  )
  expect(docs).toEqual([expect.objectContaining({ state: 'raised', rule: 'overheat', value: 31 })])
  await waitFor(() => notificationRows(cfg!.dbFile).length === 0, { what: 'the row deleted' })
})

it('with the shipped retry settings, a webhook that comes up 10 s after the raise gets raise and clear once each, in order', async () => {
  const port = await freePort()
  // No retry override: the default backoff (5 s, doubling) is what an owner gets.
  await start({
    notify: [{ id: 'ops', webhook: { url: `http://127.0.0.1:${port}/hook` } }],
    rules: [{ id: 'overheat', metric: 'temperature', high: 30, hysteresis: 1 }],
  })
  await publishSeries(sensor!.client, 'loft', [25, 31, 20], Date.now() - 5000, 1000)
  expect(gw!.db.alerts().map((a) => a.state)).toEqual(['raised', 'cleared'])
  await waitFor(
    async () =>
      (await metric(gw!, 'floxgate_notifications_failed_total', 'sink="ops",reason="network"')) >=
      1,
    { what: 'a failed first attempt while the webhook is down' },
  )
  // The outage of the scenario: the server starts 10 s after the alert, not a wait for it.
  const up = new Promise<Receiver>((resolve, reject) => {
    setTimeout(() => startReceiver(port).then(resolve, reject), 10_000)
  })
  receiver = await up
  const docs = await waitFor(
    () => {
      const d = receiver!.json<AlertMessage>('/hook')
      return d.length >= 2 ? d : undefined
    },
    { timeoutMs: 40_000, intervalMs: 200, what: 'both notifications after the webhook came up' },
  )
  expect(docs.map((d) => [d.rule, d.state])).toEqual([
    ['overheat', 'raised'],
    ['overheat', 'cleared'],
  ])
  await waitFor(() => notificationRows(cfg!.dbFile).length === 0, { what: 'the rows deleted' })
  expect(receiver.requests).toHaveLength(2)
  expect(await metric(gw!, 'floxgate_notifications_sent_total', 'sink="ops"')).toBe(2)
}, 60_000)

it('timeoutSeconds: an attempt the webhook does not answer in time fails as a timeout and is retried', async () => {
  const { createServer } = await import('node:http')
  const port = await freePort()
  const bodies: string[] = []
  // The first request is never answered (a hung sink); later ones get 200.
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString())
      if (bodies.length > 1) res.end('{}')
    })
  })
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  try {
    await start({
      notify: [
        {
          id: 'ops',
          webhook: { url: `http://127.0.0.1:${port}/hook` },
          timeoutSeconds: 0.5,
          retry: FAST_RETRY,
        },
      ],
      rules: [{ id: 'overheat', metric: 'temperature', high: 30 }],
    })
    await publishSeries(sensor!.client, 'loft', [31], Date.now() - 1000, 1000)
    await waitFor(() => notificationRows(cfg!.dbFile).length === 0, {
      what: 'the notification delivered on a later attempt',
    })
    expect(
      await metric(gw!, 'floxgate_notifications_failed_total', 'sink="ops",reason="timeout"'),
    ).toBe(1)
    expect(await metric(gw!, 'floxgate_notifications_sent_total', 'sink="ops"')).toBe(1)
    expect(bodies).toHaveLength(2)
    expect(bodies[1]).toBe(bodies[0])
    expect(
      gw!.logs.some((l) =>
        String(l.msg).includes(`no answer from http://127.0.0.1:${port}/hook within 0.5 s`),
      ),
    ).toBe(true)
  } finally {
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
  }
})
