import type { SensorIntake, SensorMessage } from '../broker/intake.js'
import { ChannelEventSource } from '../engine/event/channel-source.js'
import { ERR } from '../errors.js'
import { type GatewayEvent, telemetryEvent } from './events.js'

/**
 * Messages taken from the brokers and not yet processed. Small on purpose: every queued
 * message survives the young generation's collections until the workflow takes it, so a
 * deep queue is paid in garbage-collector time (bench:pipeline, 50,000 messages: 4096
 * cost 313 ms of GC and 18 µs per message, 256 cost 84 ms and 13 µs). Past it a broker
 * holds the sender (embedded) or stops reading its socket (external), and the messages
 * wait there: nothing is dropped.
 */
export const SENSOR_CHANNEL_CAPACITY = 256

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
    capacity = SENSOR_CHANNEL_CAPACITY,
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
