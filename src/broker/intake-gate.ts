import type { SensorMessage, SensorMessageHandler } from './intake.js'

interface Held {
  readonly message: SensorMessage
  /** Which connection it came on; a closed connection's messages are dropped. */
  readonly connection: object
}

/**
 * The delivery point shared by both intakes: messages pass straight to the handler
 * while started; otherwise they wait here, unacknowledged. Memory stays bounded because
 * the sender gets no acknowledgement: aedes stops reading a client whose publish is
 * pending, and an external broker stops at its in-flight window.
 */
export class IntakeGate {
  private handler: SensorMessageHandler | undefined
  private running = false
  private held: Held[] = []

  constructor(private readonly onHandlerError: (err: unknown, message: SensorMessage) => void) {}

  setHandler(handler: SensorMessageHandler): void {
    this.handler = handler
    this.drain()
  }

  start(): void {
    this.running = true
    this.drain()
  }

  stop(): void {
    this.running = false
  }

  /** Delivers or holds the message; a promise when the handler asks the sender to wait. */
  offer(message: SensorMessage, connection: object): undefined | Promise<void> {
    if (this.running && this.handler && this.held.length === 0) return this.deliver(message)
    this.held.push({ message, connection })
    return undefined
  }

  /** The connection closed: its held messages will be redelivered by the sender. */
  dropConnection(connection: object): void {
    if (this.held.length > 0) this.held = this.held.filter((h) => h.connection !== connection)
  }

  private drain(): void {
    while (this.running && this.handler && this.held.length > 0) {
      this.deliver(this.held.shift()!.message)
    }
  }

  private deliver(message: SensorMessage): undefined | Promise<void> {
    try {
      return this.handler!(message)
    } catch (err) {
      // a throwing handler did not store the message: fail it, keep serving the others
      this.onHandlerError(err, message)
      return undefined
    }
  }
}
