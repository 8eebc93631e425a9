import { Channel } from './channel.js'
import type { EventDrivenNode, NoEvent, SourceClosed } from './event-node.js'

/**
 * ADR-0009's ChannelEventSource: events sent in-process enter the workflow here.
 * Backpressure: `send` waits while the channel is full. `close()` lets every event
 * already sent be processed, then the source reports closed.
 */
export class ChannelEventSource<E> implements EventDrivenNode<E, unknown, 'default'> {
  readonly channel: Channel<E>

  constructor(
    capacity: number,
    readonly id = 'channel',
  ) {
    this.channel = new Channel<E>(capacity, id)
  }

  send(event: E): Promise<void> {
    return this.channel.send(event)
  }

  trySend(event: E): boolean {
    return this.channel.trySend(event)
  }

  close(): void {
    this.channel.close()
  }

  /** Events sent and not yet taken by the workflow. */
  get size(): number {
    return this.channel.size
  }

  waitForEvent(signal?: AbortSignal): Promise<E | SourceClosed> {
    return this.channel.receive(signal)
  }

  pollEvent(): E | NoEvent {
    return this.channel.tryReceive()
  }

  processEvent(): 'default' {
    return 'default'
  }
}
