import { builtinProfilesDir, loadProfiles } from '../../src/config/profiles.js'
import {
  type DeviceConfig,
  DeviceDirectory,
  type UnknownDevicePolicy,
} from '../../src/gateway/device-directory.js'
import type { DeviceProfile } from '../../src/gateway/profile.js'
import type { Reading } from '../../src/gateway/reading.js'
import type { RuleConfig } from '../../src/gateway/rule-spec.js'
import { seededRandom } from '../../src/sim/random.js'

/** The shipped profiles from devices/, loaded once. */
export const PROFILES: ReadonlyMap<string, DeviceProfile> = (() => {
  const { profiles, problems } = loadProfiles(builtinProfilesDir())
  if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('\n'))
  return profiles
})()

export function device(
  id: string,
  profile: string,
  extra: Partial<DeviceConfig> = {},
): DeviceConfig {
  return { id, profile, calibration: {}, rules: {}, ...extra }
}

export function directory(
  devices: DeviceConfig[],
  unknown: Partial<UnknownDevicePolicy> = {},
): DeviceDirectory {
  return new DeviceDirectory({
    devices,
    profiles: PROFILES,
    unknownDevices: {
      policy: 'accept',
      profile: 'generic',
      max: 1000,
      forgetAfterSeconds: 86_400,
      ...unknown,
    },
  })
}

export function rule(r: Partial<RuleConfig> & { id: string }): RuleConfig {
  return { hysteresis: 0, forSeconds: 0, count: 1, severity: 'warning', windowSeconds: 60, ...r }
}

export function reading(
  device: string,
  value: number,
  ts: number,
  metric: Reading['metric'] = 'temperature',
): Reading {
  return { device, metric, value, ts, receivedAt: ts, tsFromReceive: false }
}

/** Deterministic pseudo-random numbers (mulberry32), so noisy tests are repeatable. */
export const seeded = seededRandom
