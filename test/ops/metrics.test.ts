import { afterEach, describe, expect, it } from 'vitest'
import { GatewayMetrics } from '../../src/ops/metrics.js'

/** The value of one sample line, e.g. `floxgate_readings_in_total{device_class="dht22"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('GatewayMetrics', () => {
  let metrics: GatewayMetrics | undefined
  afterEach(() => {
    metrics?.close()
    metrics = undefined
  })

  it('counts the hot-path events with bounded labels', async () => {
    const m = new GatewayMetrics({ version: '1.2.3', defaultMetrics: false })
    metrics = m
    for (let i = 0; i < 5; i++) m.readingIn('dht22')
    m.readingIn('bme280', 3)
    m.stored(7)
    m.duplicates()
    m.deadLetter('not-json')
    m.deadLetter('out-of-range', 4)
    m.alertRaised('critical')
    m.alertRaised('critical')
    m.alertCleared('warning')
    m.refused('bad-credentials')
    m.setSources({
      uplinks: () => [{ id: 'default', backlogRows: 0, lagSeconds: 0, sent: 6 }],
      dropped: () => ({ 'drop-oldest': 2, ttl: 0 }),
    })
    m.commitSeconds(0.003)
    m.commitSeconds(0.2)
    const t = await m.text()
    expect(sample(t, 'floxgate_readings_in_total{device_class="dht22"}')).toBe(5)
    expect(sample(t, 'floxgate_readings_in_total{device_class="bme280"}')).toBe(3)
    expect(sample(t, 'floxgate_readings_stored_total')).toBe(7)
    expect(sample(t, 'floxgate_readings_duplicate_total')).toBe(1)
    expect(sample(t, 'floxgate_readings_dropped_total{reason="drop-oldest"}')).toBe(2)
    expect(sample(t, 'floxgate_readings_dropped_total{reason="ttl"}')).toBe(0)
    expect(sample(t, 'floxgate_dead_letters_total{reason="not-json"}')).toBe(1)
    expect(sample(t, 'floxgate_dead_letters_total{reason="out-of-range"}')).toBe(4)
    expect(sample(t, 'floxgate_alerts_raised_total{severity="critical"}')).toBe(2)
    expect(sample(t, 'floxgate_alerts_cleared_total{severity="warning"}')).toBe(1)
    expect(sample(t, 'floxgate_refusals_total{reason="bad-credentials"}')).toBe(1)
    expect(sample(t, 'floxgate_uplink_sent_total{uplink="default"}')).toBe(6)
    expect(sample(t, 'floxgate_store_commit_seconds_count')).toBe(2)
    expect(sample(t, 'floxgate_store_commit_seconds_bucket{le="0.005"}')).toBe(1)
    expect(sample(t, 'floxgate_store_commit_seconds_bucket{le="+Inf"}')).toBe(2)
    expect(sample(t, 'floxgate_build_info{version="1.2.3"}')).toBe(1)
    expect(sample(t, 'floxgate_resident_memory_bytes')).toBeGreaterThan(1_000_000)
    expect(sample(t, 'floxgate_event_loop_lag_seconds{stat="p99"}')).toBeGreaterThanOrEqual(0)
    expect(t).not.toMatch(/^process_cpu/m)
  })

  it('keeps counting across scrapes (hot-path sums fold in at each scrape)', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false })
    metrics = m
    m.readingIn('dht22', 2)
    m.stored(2)
    expect(sample(await m.text(), 'floxgate_readings_stored_total')).toBe(2)
    m.readingIn('dht22', 3)
    m.stored(3)
    const t = await m.text()
    expect(sample(t, 'floxgate_readings_in_total{device_class="dht22"}')).toBe(5)
    expect(sample(t, 'floxgate_readings_stored_total')).toBe(5)
    expect(sample(await m.text(), 'floxgate_readings_stored_total')).toBe(5)
  })

  it("follows the store's drop totals across scrapes (the store is the one count)", async () => {
    const drops = { 'drop-oldest': 3, 'reject-new': 0 }
    const m = new GatewayMetrics({ defaultMetrics: false, sources: { dropped: () => drops } })
    metrics = m
    expect(sample(await m.text(), 'floxgate_readings_dropped_total{reason="drop-oldest"}')).toBe(3)
    drops['drop-oldest'] = 10
    drops['reject-new'] = 4
    const t = await m.text()
    expect(sample(t, 'floxgate_readings_dropped_total{reason="drop-oldest"}')).toBe(10)
    expect(sample(t, 'floxgate_readings_dropped_total{reason="reject-new"}')).toBe(4)
    expect(sample(await m.text(), 'floxgate_readings_dropped_total{reason="drop-oldest"}')).toBe(10)
  })

  it('reads the gauges from the sources at scrape time', async () => {
    let rows = 10
    const m = new GatewayMetrics({
      defaultMetrics: false,
      sources: { bufferRows: () => rows, bufferBytes: () => 4096 },
    })
    metrics = m
    expect(sample(await m.text(), 'floxgate_buffer_rows')).toBe(10)
    rows = 25
    m.setSources({
      activeAlerts: () => 2,
      uplinks: () => [{ id: 'default', backlogRows: 9, lagSeconds: 1.5, sent: 0 }],
    })
    const t = await m.text()
    expect(sample(t, 'floxgate_buffer_rows')).toBe(25)
    expect(sample(t, 'floxgate_buffer_bytes')).toBe(4096)
    expect(sample(t, 'floxgate_alerts_active')).toBe(2)
    expect(sample(t, 'floxgate_uplink_backlog_rows{uplink="default"}')).toBe(9)
    expect(sample(t, 'floxgate_uplink_lag_seconds{uplink="default"}')).toBe(1.5)
  })

  it('reports each uplink under its id; a sent total that starts again never takes the counter back', async () => {
    let cloud = { id: 'cloud', backlogRows: 120, lagSeconds: 42, sent: 10 }
    const influx = { id: 'influx', backlogRows: 0, lagSeconds: 0, sent: 0 }
    let reads = 0
    const m = new GatewayMetrics({
      defaultMetrics: false,
      sources: {
        uplinks: () => {
          reads++
          return [cloud, influx]
        },
      },
    })
    metrics = m
    let t = await m.text()
    // one read of the uplinks' figures (their queues' queries) per scrape, not per metric
    expect(reads).toBe(1)
    // the uplink that lags is named, not hidden in a sum with one that is idle
    expect(sample(t, 'floxgate_uplink_backlog_rows{uplink="cloud"}')).toBe(120)
    expect(sample(t, 'floxgate_uplink_backlog_rows{uplink="influx"}')).toBe(0)
    expect(sample(t, 'floxgate_uplink_lag_seconds{uplink="cloud"}')).toBe(42)
    expect(sample(t, 'floxgate_uplink_sent_total{uplink="cloud"}')).toBe(10)
    expect(sample(t, 'floxgate_uplink_sent_total{uplink="influx"}')).toBe(0)
    expect(t).not.toMatch(/^floxgate_uplink_backlog_rows \d/m)
    cloud = { ...cloud, sent: 3 } // a total kept by a forwarder started again
    expect(sample(await m.text(), 'floxgate_uplink_sent_total{uplink="cloud"}')).toBe(10)
    cloud = { ...cloud, sent: 25 }
    t = await m.text()
    expect(sample(t, 'floxgate_uplink_sent_total{uplink="cloud"}')).toBe(25)
  })

  it('has no uplink series when no uplink is configured', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false })
    metrics = m
    expect(await m.text()).not.toMatch(/^floxgate_uplink_\w+[{ ]/m)
  })

  it('folds label values past the bound into "other"', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false, maxLabelValues: 2 })
    metrics = m
    m.readingIn('a')
    m.readingIn('b')
    m.readingIn('c')
    m.readingIn('d')
    m.readingIn('a')
    const t = await m.text()
    expect(sample(t, 'floxgate_readings_in_total{device_class="a"}')).toBe(2)
    expect(sample(t, 'floxgate_readings_in_total{device_class="other"}')).toBe(2)
    expect(t).not.toContain('device_class="c"')
  })

  it('keeps two instances apart and adds the process metrics when asked', async () => {
    const a = new GatewayMetrics()
    const b = new GatewayMetrics({ defaultMetrics: false })
    try {
      a.stored(3)
      expect(sample(await a.text(), 'floxgate_readings_stored_total')).toBe(3)
      expect(sample(await b.text(), 'floxgate_readings_stored_total')).toBe(0)
      expect(await a.text()).toMatch(/^process_resident_memory_bytes \d+/m)
      expect(a.contentType).toMatch(/^text\/plain/)
    } finally {
      a.close()
      b.close()
    }
  })
})
