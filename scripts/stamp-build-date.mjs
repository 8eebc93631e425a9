#!/usr/bin/env node
// Writes the build time into build/build-date.js (the compiled src/build-date.ts), after
// `tsc`: the daemon refuses to trust a system clock earlier than the build it runs
// (src/ops/clock-sanity.ts). SOURCE_DATE_EPOCH (seconds), when set, is used instead of the
// current time so two builds of one commit are identical.
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const epoch = process.env.SOURCE_DATE_EPOCH
const at = epoch === undefined || epoch === '' ? new Date() : new Date(Number(epoch) * 1000)
if (Number.isNaN(at.getTime())) {
  console.error(`stamp-build-date: SOURCE_DATE_EPOCH=${epoch} is not a number of seconds`)
  process.exit(1)
}
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'build', 'build-date.js')
writeFileSync(
  out,
  `// Stamped by scripts/stamp-build-date.mjs at build time.\nexport const BUILD_DATE = '${at.toISOString()}';\n`,
)
