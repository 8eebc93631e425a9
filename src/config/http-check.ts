/**
 * The status page shows every device and reading: off the device's own loopback it needs
 * a token, or anyone on the network could read it.
 */
type Found = { path: PropertyKey[]; message: string }

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i

export function httpCrossCheck(root: Record<string, unknown>): Found[] {
  const http = root.http
  if (http === null || typeof http !== 'object' || Array.isArray(http)) return []
  const h = http as Record<string, unknown>
  const host = typeof h.host === 'string' ? h.host : '127.0.0.1'
  if (h.enabled === false || h.ui === false || LOOPBACK.test(host) || h.token !== undefined) {
    return []
  }
  return [
    {
      path: ['http', 'token'],
      message: `is required when http.host (${host}) is not loopback and http.ui is on: set a token of at least 16 characters (e.g. \${FLOXGATE_HTTP_TOKEN}), or http.ui: false`,
    },
  ]
}
