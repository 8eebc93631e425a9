/**
 * What a config may hold so that `start` fits under the heap the unit gives it
 * (`--max-old-space-size=128` in NODE_OPTIONS, systemd/floxgate.service). check-config
 * applies the same limits (the same code), so a config it accepts starts.
 *
 * Measured (Node 20, --max-semi-space-size=1 --max-old-space-size=128): parsing YAML
 * costs about 20 times the file's size in heap, and more while it runs; a 1.7 MB file
 * of 20,000 devices still loads, 2.1 MB (25,000) and the 40,000 (3.6 MB) abort
 * with a heap OOM. 10,000 devices (0.8 MB) load and start at about 120 MB RSS.
 */
export const MEMORY_LIMITS = {
  /** The heap `start` runs under (the unit's and `npm start`'s --max-old-space-size). */
  heapMB: 128,
  /** Largest config file read: well under the 1.7 MB that still parses in that heap. */
  configBytes: 1024 * 1024,
  /** Configured devices at most: each keeps alert, window and page state in memory. */
  devices: 10_000,
} as const

/** The sentence for a config file over `configBytes`. */
export function configTooLarge(bytes: number): string {
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
  return `the file is ${mb(bytes)}; floxgate reads config files of at most ${mb(MEMORY_LIMITS.configBytes)}, because start runs under a ${MEMORY_LIMITS.heapMB} MB heap (--max-old-space-size in the unit's NODE_OPTIONS) and reading YAML takes about 20 times the file's size: a larger file would pass a check but abort at start. List fewer devices (unknownDevices.policy: accept takes devices in without listing them; profiles share settings)`
}

export const TOO_MANY_DEVICES = `must list at most ${MEMORY_LIMITS.devices} devices: start runs under a ${MEMORY_LIMITS.heapMB} MB heap (--max-old-space-size in the unit's NODE_OPTIONS) and keeps state for each configured device, so more would pass a check but abort at start; unknownDevices.policy: accept takes further devices in without listing them`
