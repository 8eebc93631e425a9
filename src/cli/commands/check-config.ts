import { EXTERNAL_BROKER_SETTINGS } from '../../broker/external-settings.js'
import { checkConfig } from '../../config/load.js'
import { formatConfigErrors } from '../../config/problems.js'
import { EXIT } from '../../exit-codes.js'
import { devicesDir } from '../../ops/sea.js'

/** Validates a config file: exit 0 with a summary, or every problem and exit 2. */
export function checkConfigCommand(
  file: string,
  out: (s: string) => void,
  err: (s: string) => void,
): number {
  const result = checkConfig(file, process.env, { builtinProfilesDir: devicesDir() })
  if (!result.ok) {
    err(`${file}: ${result.problems.length} problem(s):\n${formatConfigErrors(result.problems)}`)
    return EXIT.USAGE
  }
  const c = result.config
  for (const w of c.warnings) err(`warning ${w.code}: ${w.message}`)
  const broker =
    c.broker.mode === 'embedded'
      ? `embedded broker on ${c.broker.embedded.host}:${c.broker.embedded.port}`
      : `external broker ${c.broker.external.url}`
  out(
    `${file}: OK (${broker}; ${c.devices.length} devices, ${c.rules.length} rules, ` +
      `${c.sensors.topics.length} topic patterns; database ${c.store.file}` +
      `${c.uplinks
        .filter((u) => u.enabled)
        .map((u) => `; uplink ${u.id} (${u.kind}) ${u.url}`)
        .join('')})`,
  )
  if (c.broker.mode === 'external') out(`note: ${EXTERNAL_BROKER_SETTINGS}`)
  return EXIT.OK
}
