/**
 * The gateway's pure logic built from a validated config: the daemon wraps these into
 * engine nodes. One device directory is shared so all parts agree on profiles.
 */
import type { Config } from '../config/load.js'
import { AlertRules } from '../gateway/alert-rules.js'
import { Classifier } from '../gateway/classifier.js'
import { DeviceDirectory } from '../gateway/device-directory.js'
import { ReadingParser } from '../gateway/reading-parser.js'
import { WindowAggregator } from '../gateway/window-aggregator.js'

export interface GatewayParts {
  readonly devices: DeviceDirectory
  readonly parser: ReadingParser
  readonly classifier: Classifier
  readonly rules: AlertRules
  readonly aggregator: WindowAggregator
}

/** `now`: the start of silence for stale rules; `clockSane`: see ClassifierOptions. */
export function buildGatewayParts(
  config: Config,
  now = Date.now(),
  clockSane: () => boolean = () => true,
): GatewayParts {
  const devices = new DeviceDirectory({
    devices: config.devices,
    profiles: config.profiles,
    unknownDevices: config.unknownDevices,
  })
  return {
    devices,
    parser: new ReadingParser({
      topics: config.sensors.topics,
      devices,
      maxPayloadBytes: config.broker.embedded.maxPayloadBytes,
    }),
    classifier: new Classifier({ devices, timestamps: config.timestamps, clockSane }),
    rules: new AlertRules({ gateway: config.gateway.id, rules: config.rules, devices, now }),
    aggregator: new WindowAggregator({
      windowMs: config.aggregates.windowSeconds * 1000,
      graceMs: config.aggregates.graceSeconds * 1000,
    }),
  }
}
