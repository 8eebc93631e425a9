#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander'
import { ERR, FloxgateError, isError } from '../errors.js'
import { EXIT } from '../exit-codes.js'
import { VERSION } from '../version.js'
import type { ExportKind } from './commands/export.js'

const out = (s: string) => process.stdout.write(`${s}\n`)
const err = (s: string) => process.stderr.write(`${s}\n`)

function int(name: string) {
  return (v: string) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a whole number >= 0`)
    return n
  }
}

function time(v: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v)
  if (!Number.isFinite(n))
    throw new InvalidArgumentError(
      `expected an ISO 8601 date/time or ms since the epoch, got "${v}"`,
    )
  return n
}

const DEFAULT_CONFIG = process.env.FLOXGATE_CONFIG ?? '/etc/floxgate/floxgate.yaml'

/** Runs a command and turns its failures into a one-line message and an exit code. */
async function run(action: () => Promise<number> | number): Promise<void> {
  try {
    process.exitCode = await action()
  } catch (e) {
    process.exitCode = report(e)
  }
}

function report(e: unknown): number {
  if (isError(e, ERR.CONFIG_INVALID)) {
    err(e.message)
    return e.exitCode
  }
  if (e instanceof FloxgateError) {
    err(`floxgate: ${e.message} [${e.code}]`)
    return e.exitCode
  }
  err(`floxgate: ${e instanceof Error ? e.message : String(e)}`)
  return EXIT.FAILURE
}

const program = new Command()
  .name('floxgate')
  .description(
    'IoT edge gateway: MQTT sensor readings -> rules, alerts, aggregates -> SQLite -> uplink',
  )
  .version(VERSION, '-v, --version')
  .showHelpAfterError('(run floxgate --help for usage)')
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .exitOverride((e) => {
    // --help and --version exit 0; usage errors exit 2 (documented exit codes).
    process.exit(e.exitCode === 0 ? EXIT.OK : EXIT.USAGE)
  })

program
  .command('start')
  .description('run the gateway daemon (foreground; systemd runs it as a Type=notify service)')
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
  .action((o: { config: string }) =>
    run(async () => {
      const { runDaemon } = await import('../daemon/run.js')
      return runDaemon({ configPath: o.config })
    }),
  )

program
  .command('check-config')
  .description('validate a config file: exit 0, or list every problem and exit 2')
  .argument('[file]', 'config file (or --config FILE, as the other commands take it)')
  .option('-c, --config <file>', 'config file')
  .action((file: string | undefined, o: { config?: string }, cmd: Command) => {
    if (file !== undefined && o.config !== undefined && file !== o.config) {
      cmd.error(`check-config: two config files given (${file} and --config ${o.config})`)
    }
    return run(async () =>
      (await import('./commands/check-config.js')).checkConfigCommand(
        file ?? o.config ?? DEFAULT_CONFIG,
        out,
        err,
      ),
    )
  })

program
  .command('simulate')
  .description('publish realistic sensor readings with injected anomalies to a broker')
  .option('--url <url>', 'broker URL', 'mqtt://127.0.0.1:1883')
  .option('--devices <n>', 'number of simulated devices', int('--devices'), 5)
  .option('--interval <ms>', 'ms between readings of each device', int('--interval'), 1000)
  .option('--duration <s>', 'stop after this many seconds (0: until Ctrl-C)', int('--duration'), 0)
  .option(
    '--anomalies-after <s>',
    'seconds before spikes, drift, dropout and garbage start',
    int('--anomalies-after'),
    10,
  )
  .option('--seed <n>', 'random seed (same seed, same readings)', int('--seed'), 42)
  .option('--topic <template>', 'topic template', 'sensors/{device}/telemetry')
  .option('--prefix <prefix>', 'device id prefix', 'sim-')
  .option('--username <name>', 'broker username')
  .option('--password <password>', 'broker password (or FLOXGATE_PASSWORD)')
  .addOption(new Option('--qos <qos>', 'QoS of the publishes').choices(['0', '1']).default('1'))
  .action((o: Record<string, string | number | undefined>) =>
    run(async () => {
      const { simulate } = await import('./commands/simulate.js')
      return simulate(
        {
          url: String(o.url),
          devices: Number(o.devices),
          intervalMs: Number(o.interval),
          durationMs: Number(o.duration) * 1000,
          anomalyAfterMs: Number(o.anomaliesAfter) * 1000,
          seed: Number(o.seed),
          topic: String(o.topic),
          prefix: String(o.prefix),
          username: o.username === undefined ? undefined : String(o.username),
          password: o.password === undefined ? process.env.FLOXGATE_PASSWORD : String(o.password),
          qos: o.qos === '0' ? 0 : 1,
        },
        out,
      )
    }),
  )

program
  .command('hash-password')
  .description(
    'read a password on stdin and print its hash for broker.embedded.users[].passwordHash',
  )
  .action(() =>
    run(async () => (await import('./commands/hash-password.js')).hashPasswordCommand(out, err)),
  )

program
  .command('status')
  .description('health, buffer depth, uplink backlog, active alerts and latest reading per device')
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
  .option('--json', 'machine-readable output')
  .action((o: { config: string; json?: boolean }) =>
    run(async () =>
      (await import('./commands/status.js')).statusCommand(o.config, o.json === true, out),
    ),
  )

program
  .command('export')
  .description(
    'write readings, aggregates, alert events or dead letters of a time range as CSV or NDJSON',
  )
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
  .addOption(
    new Option('--kind <kind>', 'what to export')
      .choices(['readings', 'aggregates', 'alerts', 'dead-letters'])
      .default('readings'),
  )
  .addOption(
    new Option('--format <format>', 'output format').choices(['csv', 'ndjson']).default('csv'),
  )
  .option('--from <time>', 'start (ISO 8601 or ms), inclusive', time, 0)
  .option('--to <time>', 'end (ISO 8601 or ms), exclusive', time, Number.MAX_SAFE_INTEGER)
  .option('--device <id>', 'only this device')
  .option('-o, --out <file>', 'write to a file instead of stdout')
  .action((o: Record<string, string | number | undefined>) =>
    run(async () =>
      (await import('./commands/export.js')).exportCommand(
        {
          config: String(o.config),
          kind: (o.kind ?? 'readings') as ExportKind,
          format: o.format === 'ndjson' ? 'ndjson' : 'csv',
          from: Number(o.from),
          to: Number(o.to),
          device: o.device === undefined ? undefined : String(o.device),
          out: o.out === undefined ? undefined : String(o.out),
        },
        err,
      ),
    ),
  )

// No top-level await: the single executable is a CommonJS bundle, which cannot have one.
program.parseAsync(process.argv).catch((e: unknown) => {
  process.exitCode = report(e)
})
