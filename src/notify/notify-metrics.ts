import { Counter, Gauge, type Registry } from 'prom-client'

/**
 * Notification counters, registered on the gateway's registry. Notifications are rare
 * (alert transitions), so prom-client's labelled counters are cheap enough here.
 */
export class NotifyMetrics {
  private readonly sent: Counter<'sink'>
  private readonly failed: Counter<'sink' | 'reason'>
  private readonly rejected: Counter<'sink'>
  private pendingSource: () => number = () => 0

  constructor(registry: Registry) {
    const existing = registry.getSingleMetric('floxgate_notifications_sent_total')
    if (existing !== undefined) {
      // One gateway per registry; a second notifier on the same registry reuses them.
      this.sent = existing as Counter<'sink'>
      this.failed = registry.getSingleMetric('floxgate_notifications_failed_total') as Counter<
        'sink' | 'reason'
      >
      this.rejected = registry.getSingleMetric(
        'floxgate_notifications_rejected_total',
      ) as Counter<'sink'>
      return
    }
    const registers = [registry]
    this.sent = new Counter({
      name: 'floxgate_notifications_sent_total',
      help: 'Alert notifications a sink accepted (2xx), by sink',
      labelNames: ['sink'],
      registers,
    })
    this.failed = new Counter({
      name: 'floxgate_notifications_failed_total',
      help: 'Failed delivery attempts (retried later), by sink and reason',
      labelNames: ['sink', 'reason'],
      registers,
    })
    this.rejected = new Counter({
      name: 'floxgate_notifications_rejected_total',
      help: 'Notifications a sink refused with a 4xx and that are not retried, by sink',
      labelNames: ['sink'],
      registers,
    })
    const pending = () => this.pendingSource()
    new Gauge({
      name: 'floxgate_notifications_pending',
      help: 'Notifications waiting for delivery',
      registers,
      collect() {
        this.set(pending())
      },
    })
  }

  setPending(source: () => number): void {
    this.pendingSource = source
  }

  delivered(sink: string): void {
    this.sent.inc({ sink })
  }

  attemptFailed(sink: string, reason: string): void {
    this.failed.inc({ sink, reason })
  }

  refused(sink: string): void {
    this.rejected.inc({ sink })
  }
}
