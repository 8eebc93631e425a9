/**
 * Reads, validates and resolves the config file into a typed `Config`. All problems are
 * collected (YAML syntax, schema, cross-references, profiles) and reported together.
 */
import { readFileSync, statSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { ERR, WARN, type Warning } from '../errors.js'
import { BUILTIN_METRICS } from '../gateway/metrics.js'
import type { DeviceProfile, MetricSpec } from '../gateway/profile.js'
import { fillTopic } from '../gateway/topic-pattern.js'
import { parseMqttUrl } from '../mqtt/endpoint.js'
import { crossCheck } from './cross-check.js'
import { fileCheck } from './file-check.js'
import { configTooLarge, deviceStateProblem, MEMORY_LIMITS } from './memory-limits.js'
import {
  allowedKeys,
  type ConfigProblem,
  formatConfigErrors,
  formatPath,
  problemsFromIssue,
  scalarKindsAt,
} from './problems.js'
import { builtinProfilesDir, loadProfiles } from './profiles.js'
import { configSchema, type ParsedConfig, type STREAMS } from './schema.js'
import { readYaml, substituteEnv } from './yaml-source.js'

type Embedded = ParsedConfig['broker']['embedded']

/** A config that works but should change: declared in src/errors.ts (`WARN`). */
export type ConfigWarning = Warning

/** The validated config with absolute paths, the loaded profiles and warnings to log. */
/** One uplink, normalized: `uplink:` becomes the one uplink with id `default`. */
export type UplinkConfig = Omit<NonNullable<ParsedConfig['uplinks']>[number], 'streams'> & {
  readonly streams: readonly (typeof STREAMS)[number][]
  readonly clientId: string
}

export type Config = Omit<ParsedConfig, 'broker' | 'uplinks'> & {
  /** Every configured uplink (enabled or not), `uplink:` included as id `default`. */
  readonly uplinks: readonly UplinkConfig[]
  readonly broker: Omit<ParsedConfig['broker'], 'embedded'> & {
    readonly embedded: Omit<Embedded, 'allowAnonymous'> & { readonly allowAnonymous: boolean }
  }
  readonly profiles: ReadonlyMap<string, DeviceProfile>
  readonly source: { readonly file: string; readonly dir: string }
  readonly warnings: readonly ConfigWarning[]
}

export interface LoadConfigOptions {
  /** Built-in device profiles; default the package's `devices/` folder. */
  readonly builtinProfilesDir?: string | undefined
}

export type CheckResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] }

type Env = Readonly<Record<string, string | undefined>>

/** Validates a config file without throwing: for `floxgate check-config`. */
export function checkConfig(
  path: string,
  env: Env = process.env,
  opts: LoadConfigOptions = {},
): CheckResult {
  const file = resolve(path)
  const dir = dirname(file)
  let text: string
  try {
    // Checked before reading: the size alone says whether start could parse it.
    const bytes = statSync(file).size
    if (bytes > MEMORY_LIMITS.configBytes)
      return { ok: false, problems: [{ path: '', message: configTooLarge(bytes) }] }
    text = readFileSync(file, 'utf8')
  } catch (err) {
    return {
      ok: false,
      problems: [{ path: '', message: `cannot read ${file}: ${(err as Error).message}` }],
    }
  }
  const src = readYaml(text)
  if (src.value === undefined) return { ok: false, problems: src.problems }

  const found: Array<{ path: PropertyKey[]; message: string }> = []
  const raw = substituteEnv(src.value, env, found, (path) => scalarKindsAt(configSchema, path))

  const builtin = loadProfiles(opts.builtinProfilesDir ?? builtinProfilesDir())
  const profiles = builtin.profiles
  const fileProblems = [...builtin.problems]
  const rawProfilesDir = (raw as { profilesDir?: unknown } | null)?.profilesDir
  if (typeof rawProfilesDir === 'string' && rawProfilesDir !== '') {
    const extra = loadProfiles(resolve(dir, rawProfilesDir))
    for (const [id, p] of extra.profiles) profiles.set(id, p)
    fileProblems.push(...extra.problems)
  }

  const parsed = configSchema.safeParse(raw, { reportInput: true })
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      found.push(...problemsFromIssue(issue, (path) => allowedKeys(configSchema, path)))
    }
  }
  found.push(...crossCheck(raw, [...profiles.keys()], knownMetrics(raw, profiles)))
  if (parsed.success)
    found.push(
      ...fileCheck(parsed.data, dir),
      ...clientIdClash(parsed.data),
      ...anonymousPublishCheck(parsed.data),
      ...deviceStateCheck(parsed.data),
    )

  const located = dedupe(found).map((f): ConfigProblem => {
    const pos = src.position(f.path)
    return { path: formatPath(f.path) || '(top level)', message: f.message, line: pos?.line }
  })
  // In file order, so the list reads top to bottom like the file (sort is stable).
  located.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER))
  const problems: ConfigProblem[] = [...fileProblems, ...located]
  if (!parsed.success || problems.length > 0) return { ok: false, problems }
  return {
    ok: true,
    config: resolveConfig(parsed.data, withDeclaredMetrics(parsed.data, profiles), file, env),
  }
}

/** Built-in metrics, the config's `metrics:` and every metric a profile lists. */
function knownMetrics(raw: unknown, profiles: ReadonlyMap<string, DeviceProfile>): string[] {
  const declared = (raw as { metrics?: unknown } | null)?.metrics
  const names = new Set(Object.keys(BUILTIN_METRICS))
  if (declared !== null && typeof declared === 'object')
    for (const k of Object.keys(declared)) names.add(k)
  for (const p of profiles.values()) for (const k of Object.keys(p.metrics)) names.add(k)
  return [...names]
}

/**
 * The config's declared metrics join the generic profile (unknown devices and devices
 * without a profile), and lend their unit label to any profile that lists them.
 */
function withDeclaredMetrics(
  c: ParsedConfig,
  profiles: Map<string, DeviceProfile>,
): Map<string, DeviceProfile> {
  const declared = Object.entries(c.metrics)
  if (declared.length === 0) return profiles
  for (const [id, p] of profiles) {
    const metrics: Record<string, MetricSpec> = { ...p.metrics }
    for (const [name, d] of declared) {
      const spec = metrics[name]
      if (spec !== undefined) metrics[name] = { ...spec, unit: spec.unit ?? d.unit }
      else if (id === 'generic')
        metrics[name] = {
          min: d.min ?? -Number.MAX_VALUE,
          max: d.max ?? Number.MAX_VALUE,
          resolution: d.resolution,
          unit: d.unit,
        }
    }
    profiles.set(id, { ...p, metrics })
  }
  return profiles
}

/**
 * Loads and validates `path`. Throws FLX_ERR_CONFIG_INVALID listing every problem as
 * `path: what is wrong`; `formatConfigErrors` renders the same lines from `checkConfig`.
 */
export function loadConfig(
  path: string,
  env: Env = process.env,
  opts: LoadConfigOptions = {},
): Config {
  const result = checkConfig(path, env, opts)
  if (!result.ok)
    throw ERR.CONFIG_INVALID(
      resolve(path),
      formatConfigErrors(result.problems),
      result.problems.length,
    )
  return result.config
}

/** The devices and rules must fit under start's heap (memory-limits.ts). */
function deviceStateCheck(c: ParsedConfig): Array<{ path: PropertyKey[]; message: string }> {
  const message = deviceStateProblem(c)
  if (message === undefined) return []
  const unknown = c.unknownDevices.policy === 'accept' && c.unknownDevices.max > 0
  return [{ path: unknown ? ['unknownDevices', 'max'] : ['rules'], message }]
}

/**
 * `anonymousPublish: any` is for other programs on the same machine: refused when
 * anonymous clients could also come from the network.
 */
function anonymousPublishCheck(c: ParsedConfig): Array<{ path: PropertyKey[]; message: string }> {
  const e = c.broker.embedded
  if (c.broker.mode !== 'embedded' || e.anonymousPublish !== 'any' || e.allowAnonymous === false)
    return []
  const hosts = [e.host]
  if (e.tls) hosts.push(e.tls.host ?? e.host)
  if (e.websocket) hosts.push(e.websocket.host ?? e.host)
  const exposed = hosts.filter((h) => !isLoopbackHost(h))
  if (exposed.length === 0) return []
  return [
    {
      path: ['broker', 'embedded', 'anonymousPublish'],
      message: `"any" lets anonymous clients publish any topic, but the broker listens on ${exposed.join(', ')} with anonymous clients allowed: set allowAnonymous: false (local programs then need a user), or keep the listeners on loopback`,
    },
  ]
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host)
}

function resolveConfig(
  c: ParsedConfig,
  profiles: ReadonlyMap<string, DeviceProfile>,
  file: string,
  env: Env,
): Config {
  const dir = dirname(file)
  const at = (p: string) => (isAbsolute(p) ? p : resolve(dir, p))
  const opt = (p: string | undefined) => (p === undefined ? undefined : at(p))
  // systemd's StateDirectory= may list several folders, colon-separated; ours is the first.
  const stateDir = env.STATE_DIRECTORY?.split(':')[0]
  const dataDir =
    stateDir !== undefined && stateDir !== '' ? resolve(stateDir) : at(c.gateway.dataDir)
  const gw = { gateway: c.gateway.id }

  const e = c.broker.embedded
  const hosts = [
    e.host,
    ...(e.tls ? [e.tls.host ?? e.host] : []),
    ...(e.websocket ? [e.websocket.host ?? e.host] : []),
  ]
  const exposed = hosts.filter((h) => !isLoopbackHost(h))
  // Anonymous access is the loopback default only while no account exists: once users are
  // configured, an anonymous local process must not publish as one of them.
  const allowAnonymous = e.allowAnonymous ?? (exposed.length === 0 && e.users.length === 0)
  const warnings: ConfigWarning[] = []
  if (c.broker.mode === 'embedded' && allowAnonymous && exposed.length > 0) {
    warnings.push(WARN.ANONYMOUS_EXPOSED(exposed))
  }

  return {
    ...c,
    gateway: { ...c.gateway, dataDir },
    broker: {
      ...c.broker,
      statusTopic: fillTopic(c.broker.statusTopic, gw),
      embedded: {
        ...e,
        allowAnonymous,
        tls: e.tls && { ...e.tls, cert: at(e.tls.cert), key: at(e.tls.key) },
      },
      external: {
        ...c.broker.external,
        clientId: c.broker.external.clientId ?? externalClientId(c.gateway.id),
        caFile: opt(c.broker.external.caFile),
        certFile: opt(c.broker.external.certFile),
        keyFile: opt(c.broker.external.keyFile),
      },
    },
    profilesDir: opt(c.profilesDir),
    alerts: { ...c.alerts, topic: fillTopic(c.alerts.topic, gw) },
    aggregates: { ...c.aggregates, topic: fillTopic(c.aggregates.topic, gw) },
    store: {
      ...c.store,
      file: isAbsolute(c.store.file) ? c.store.file : resolve(dataDir, c.store.file),
    },
    uplink: c.uplink && {
      ...c.uplink,
      topicPrefix: fillTopic(c.uplink.topicPrefix, gw),
      caFile: opt(c.uplink.caFile),
      clientId: c.uplink.clientId ?? `floxgate-${c.gateway.id}`,
    },
    uplinks: uplinkList(c).map((u) => ({
      ...u,
      topicPrefix: fillTopic(u.topicPrefix, gw),
      caFile: opt(u.caFile),
      clientId:
        u.clientId ??
        (c.uplink !== undefined ? `floxgate-${c.gateway.id}` : `floxgate-${c.gateway.id}-${u.id}`),
      streams: u.streams ?? DEFAULT_STREAMS[u.kind],
    })),
    profiles,
    source: { file, dir },
    warnings,
  }
}

/** What each kind forwards when `streams` is not set. */
const DEFAULT_STREAMS: Record<UplinkConfig['kind'], UplinkConfig['streams']> = {
  mqtt: ['aggregates', 'alerts'],
  influxdb: ['readings', 'aggregates', 'alerts'],
  thingsboard: ['readings', 'alerts'],
}

function uplinkList(c: ParsedConfig): NonNullable<ParsedConfig['uplinks']> {
  if (c.uplinks !== undefined) return c.uplinks
  if (c.uplink === undefined) return []
  return [
    {
      ...c.uplink,
      id: 'default',
      kind: 'mqtt',
      measurement: 'per-metric',
      measurementName: 'floxgate',
      batchSize: 500,
      batchDelayMs: 1000,
      gzip: true,
      alertsAs: 'telemetry',
    },
  ]
}

/** The external broker's default session: never the uplink's `floxgate-<id>`. */
export function externalClientId(gatewayId: string): string {
  return `floxgate-${gatewayId}-sensors`
}

/**
 * One client id on one broker is one session: two connections with the same id (the
 * external-broker connection and an uplink, or two uplinks) take it over from each other,
 * each connect kicking the other out. Refused when the URLs name the same broker.
 */
function clientIdClash(c: ParsedConfig): { path: PropertyKey[]; message: string }[] {
  const sessions: { id: string; at: string; path: PropertyKey[]; what: string }[] = []
  if (c.broker.mode === 'external') {
    sessions.push({
      id: c.broker.external.clientId ?? externalClientId(c.gateway.id),
      at: endpoint(c.broker.external.url ?? ''),
      path: ['broker', 'external', 'clientId'],
      what: 'broker.external.clientId',
    })
  }
  uplinkList(c).forEach((u, i) => {
    // InfluxDB speaks HTTP: no session
    if (!u.enabled || u.kind === 'influxdb') return
    sessions.push({
      id:
        u.clientId ??
        (c.uplink !== undefined ? `floxgate-${c.gateway.id}` : `floxgate-${c.gateway.id}-${u.id}`),
      at: endpoint(u.url),
      path: c.uplinks !== undefined ? ['uplinks', i, 'clientId'] : ['uplink', 'clientId'],
      what: c.uplinks !== undefined ? `uplinks[${i}].clientId` : 'uplink.clientId',
    })
  })
  const found: { path: PropertyKey[]; message: string }[] = []
  sessions.forEach((s, i) => {
    const first = sessions.slice(0, i).find((o) => o.id === s.id && o.at === s.at)
    if (first === undefined) return
    found.push({
      path: s.path,
      message: `"${s.id}" is also ${first.what} on the same broker: the two connections would take over each other's session; give them different ids`,
    })
  })
  return found
}

/** Loopback names of one host. */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]'])

/**
 * A broker URL with the default port filled in and loopback names as one host, so two
 * spellings of one broker agree.
 */
function endpoint(url: string): string {
  try {
    const e = parseMqttUrl('url', url)
    const host = LOOPBACK_NAMES.has(e.host.toLowerCase()) ? 'loopback' : e.host.toLowerCase()
    return `${e.protocol}://${host}:${e.port}`
  } catch {
    return url // the schema reports a bad URL
  }
}

function dedupe<T extends { path: PropertyKey[]; message: string }>(items: T[]): T[] {
  const seen = new Set<string>()
  return items.filter((i) => {
    const key = `${formatPath(i.path)}\u0000${i.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
