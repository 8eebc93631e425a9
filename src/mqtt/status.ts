/** Where and for which gateway the status goes. */
export interface StatusOptions {
  readonly topic: string
  readonly gatewayId: string
}

export interface GatewayStatus {
  readonly gateway: string
  readonly state: 'online' | 'offline'
  readonly version: string
  /** When the message was made, ISO 8601 UTC (for the Last Will: when the session began). */
  readonly ts: string
}

/**
 * The retained status message on the status topic, one shape on every connection (the
 * embedded broker, an external broker, an MQTT uplink): `online` when connected, `offline`
 * on a clean stop and as the Last Will. Home Assistant's availability template reads `state`.
 */
export function statusPayload(
  gateway: string,
  version: string,
  state: GatewayStatus['state'],
  now: number = Date.now(),
): Buffer {
  const status: GatewayStatus = { gateway, state, version, ts: new Date(now).toISOString() }
  return Buffer.from(JSON.stringify(status))
}
