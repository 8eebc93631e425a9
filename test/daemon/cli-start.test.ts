import { expect, it } from 'vitest'
import { useDaemon, withDeadline } from './cli-process.js'
import { connectClient, telemetry } from './harness.js'

const scene = useDaemon()

it('`floxgate start` logs ready with its ports and database, serves sensors, and stops with exit 0', async () => {
  const { cfg, daemon, db } = scene
  const ready = daemon.logs.find((l) => l.msg === 'floxgate is ready')
  expect(ready).toMatchObject({
    broker: 'embedded',
    ports: { tcp: cfg.brokerPort },
    database: cfg.dbFile,
  })

  const sensor = await connectClient(cfg.brokerPort)
  const ts = Date.now() - 1000
  await sensor.client.publishAsync(
    'sensors/porch/telemetry',
    telemetry({ temperature: 18.5, humidity: 60 }, ts),
    {
      qos: 1,
    },
  )
  await sensor.close()
  expect(db.readings('porch').map((r) => [r.metric, r.value])).toEqual([
    ['humidity', 60],
    ['temperature', 18.5],
  ])

  daemon.child.kill('SIGTERM')
  expect(await withDeadline(daemon.exited, 5000, 'exit after SIGTERM')).toBe(0)
  expect(daemon.logs.some((l) => l.msg === 'stopped cleanly')).toBe(true)
})
