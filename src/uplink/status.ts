/** The retained status message upstream: `online` on connect, `offline` on stop or as Last Will. */
export interface GatewayStatus {
  readonly state: 'online' | 'offline'
  readonly gateway: string
  readonly version: string
}

export function statusPayload(
  state: GatewayStatus['state'],
  gateway: string,
  version: string,
): Buffer {
  const status: GatewayStatus = { state, gateway, version }
  return Buffer.from(JSON.stringify(status))
}
