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

/**
 * Devices and the rules that apply to them, in "device equivalents": every device the
 * gateway may keep state for (the configured ones, plus up to unknownDevices.max unknown
 * ones while they are accepted) counts 1, and every device-rule pair a tenth (each rule
 * keeps state per device). Measured under the unit's flags, with a client publishing under
 * fresh ids: 10,000 devices with 20 rules (30,000) ran at 171 MB RSS, 30 rules (40,000)
 * aborted with a heap OOM at 9,779 devices; 20,000 devices with 6 rules and 8 metrics each
 * ran at 192 MB. Without this bound a config check-config accepted (36 rules, the default
 * unknownDevices.max) let any local client abort the daemon in 18 s.
 */
export const DEVICE_STATE_LIMIT = 30_000

export interface DeviceStateInput {
  readonly devices: readonly { readonly id: string; readonly profile: string }[]
  readonly rules: readonly {
    readonly devices?: readonly string[] | undefined
    readonly profiles?: readonly string[] | undefined
  }[]
  readonly unknownDevices: {
    readonly policy: string
    readonly profile: string
    readonly max: number
  }
}

/** Devices tracked, device-rule pairs, and the device equivalents they make. */
export function deviceState(c: DeviceStateInput): {
  tracked: number
  pairs: number
  total: number
} {
  const unknown = c.unknownDevices.policy === 'accept' ? c.unknownDevices.max : 0
  const configured = new Set(c.devices.map((d) => d.id))
  const byProfile = new Map<string, number>()
  for (const d of c.devices) byProfile.set(d.profile, (byProfile.get(d.profile) ?? 0) + 1)
  let pairs = 0
  for (const r of c.rules) {
    if (r.devices !== undefined) {
      // listed ids that are not configured can still arrive as unknown devices
      const listed = new Set(r.devices)
      let n = 0
      for (const id of listed) if (configured.has(id)) n++
      pairs += n + Math.min(listed.size - n, unknown)
    } else if (r.profiles !== undefined) {
      for (const p of new Set(r.profiles)) {
        pairs += (byProfile.get(p) ?? 0) + (p === c.unknownDevices.profile ? unknown : 0)
      }
    } else {
      pairs += c.devices.length + unknown
    }
  }
  const tracked = c.devices.length + unknown
  return { tracked, pairs, total: tracked + Math.ceil(pairs / 10) }
}

/** Why the devices and rules cannot fit under the heap, or undefined when they can. */
export function deviceStateProblem(c: DeviceStateInput): string | undefined {
  const { tracked, pairs, total } = deviceState(c)
  if (total <= DEVICE_STATE_LIMIT) return undefined
  const unknown = tracked - c.devices.length
  const who =
    unknown > 0
      ? `${c.devices.length} configured devices plus up to ${unknown} unknown ones (unknownDevices.max, policy accept)`
      : `${c.devices.length} configured devices`
  return `${who} with ${c.rules.length} rules make up to ${pairs} device-rule pairs: ${tracked} + ${pairs} / 10 = ${total}, over the ${DEVICE_STATE_LIMIT} that fit: start runs under a ${MEMORY_LIMITS.heapMB} MB heap and keeps state for every device and every rule that applies to it, so more would pass a check but abort once the devices report. Lower unknownDevices.max, give rules a devices: or profiles: filter, or list fewer rules`
}
