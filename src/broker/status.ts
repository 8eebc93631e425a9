import { VERSION } from '../version.js'

/** Where and how the gateway announces itself: a retained JSON message. */
export interface StatusOptions {
  readonly topic: string
  readonly gatewayId: string
}

export type GatewayState = 'online' | 'offline'

export function statusPayload(status: StatusOptions, state: GatewayState, now: number): string {
  return JSON.stringify({
    gateway: status.gatewayId,
    state,
    version: VERSION,
    ts: new Date(now).toISOString(),
  })
}
