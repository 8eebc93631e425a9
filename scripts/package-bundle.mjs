// Bundles the CLI into one CommonJS file for Node's single-executable applications
// (SEA runs CommonJS only). Usage: node scripts/package-bundle.mjs <entry> <outfile>
import { build } from 'esbuild'

const [entry, outfile] = process.argv.slice(2)
if (!entry || !outfile) {
  console.error('usage: node scripts/package-bundle.mjs <entry> <outfile>')
  process.exit(2)
}

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  // ws loads these optional native speed-ups inside try/catch; we ship neither.
  external: ['bufferutil', 'utf-8-validate'],
  // esbuild empties import.meta in CommonJS; give it the executable's own URL instead.
  define: { 'import.meta.url': '__floxgateImportMetaUrl' },
  // Inside an SEA the injected `require` loads built-in modules only; better-sqlite3
  // loads its addon with require(path), so swap in a full one. `var` keeps the
  // wrapper's parameter visible on the right-hand side.
  banner: {
    js: [
      "var __floxgateImportMetaUrl = require('node:url').pathToFileURL(__filename).href;",
      "var require = require('node:module').createRequire(__filename);",
    ].join('\n'),
  },
  legalComments: 'none',
  logLevel: 'warning',
})
