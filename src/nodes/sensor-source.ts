import type { SensorIntake, SensorMessage } from '../broker/intake.js'
import { ChannelEventSource } from '../engine/event/channel-source.js'
import { ERR } from '../errors.js'
import { type GatewayEvent, telemetryEvent } from './events.js'

/**
 * The MQTT sensor subscriptions as one event source of the workflow: every message the
 * intake delivers (embedded broker hook or external subscription) enters here.
 *
 * Backpressure, not loss: when the channel is full the intake is told to wait (a QoS 0
 * sender's stream is held; QoS 1 senders are already held until their ack).
 */
export class SensorSource extends ChannelEventSource<GatewayEvent> {
  constructor(
    private readonly intake: SensorIntake,
    capacity = 4096,
  ) {
    super(capacity, 'sensors')
    intake.onMessage((m) => this.accept(m))
  }

  private accept(message: SensorMessage): undefined | Promise<void> {
    if (this.channel.isClosed) {
      // Stopping: not stored, so not acknowledged; the sender delivers it again later.
      message.ack(ERR.INTAKE_NOT_STORED(message.topic, 'the gateway is stopping'))
      return undefined
    }
    const event = telemetryEvent(message)
    if (this.trySend(event)) return undefined
    return this.send(event)
  }

  /** Starts the intake; messages held by the broker so far enter first. */
  start(): Promise<void> {
    return this.intake.start()
  }

  /** Stops intake, then closes the channel: queued messages are still processed. */
  async stop(): Promise<void> {
    await this.intake.stop()
    this.close()
  }
}
