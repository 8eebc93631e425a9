// Writes the sea-config.json for one target: the bundle, the SQLite addon, the device
// profiles and the status page's files as assets. Keys match SEA_ASSET in src/ops/sea.ts;
// the page's files match UI_FILES in src/ui/status-page.ts (test/package/ checks both).
// Usage: node scripts/package-sea-config.mjs <config.json> <bundle> <addon> <devicesDir>
//        <blob> <useCodeCache: true|false>
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'

const [configFile, bundle, addon, devicesDir, blob, codeCache] = process.argv.slice(2)
if (!configFile || !bundle || !addon || !devicesDir || !blob) {
  console.error('usage: package-sea-config.mjs <config> <bundle> <addon> <devicesDir> <blob> <cc>')
  process.exit(2)
}

const indexFile = `${blob}.devices.json`
const profiles = existsSync(devicesDir)
  ? readdirSync(devicesDir)
      .filter((n) => /\.ya?ml$/.test(n))
      .sort()
  : []
writeFileSync(indexFile, JSON.stringify(profiles))

const assets = {
  'better_sqlite3.node': resolve(addon),
  'devices/index.json': resolve(indexFile),
}
for (const name of profiles) assets[`devices/${name}`] = resolve(join(devicesDir, name))

// The status page: served from memory by the executable (embeddedUiFile in src/ops/sea.ts).
const root = new URL('../', import.meta.url)
const fromPackage = createRequire(new URL('package.json', root))
const uiFiles = {
  'index.html': new URL('ui/index.html', root).pathname,
  'app.js': new URL('ui/app.js', root).pathname,
  'app.css': new URL('ui/app.css', root).pathname,
  'uplot.js': fromPackage.resolve('uplot/dist/uPlot.iife.min.js'),
  'uplot.css': fromPackage.resolve('uplot/dist/uPlot.min.css'),
}
for (const [name, file] of Object.entries(uiFiles)) {
  if (!existsSync(file)) {
    console.error(`package-sea-config: status page file ${file} is missing`)
    process.exit(1)
  }
  assets[`ui/${name}`] = file
}

writeFileSync(
  configFile,
  JSON.stringify(
    {
      main: resolve(bundle),
      output: resolve(blob),
      disableExperimentalSEAWarning: true,
      // Small young generation and a capped old one: on a 512 MB Pi the default V8 sizing
      // lets collectable garbage pile up to several times the live heap (docs/benchmarks.md).
      // The same flags are in systemd/floxgate.service and `npm start`.
      execArgv: ['--max-semi-space-size=1', '--max-old-space-size=128'],
      useSnapshot: false,
      // V8 bytecode made by the Node that runs this config: package.sh enables it only
      // when that Node is the target's (native, or arm64 under qemu).
      useCodeCache: codeCache === 'true',
      assets,
    },
    null,
    2,
  ),
)
console.log(
  `sea config: ${configFile} (${profiles.length} device profiles, ${Object.keys(uiFiles).length} page files)`,
)
