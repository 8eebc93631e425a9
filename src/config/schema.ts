/**
 * The config file's shape, with a default for every key so a tiny file works. Every key
 * is documented in docs/config.md; keep the two in step.
 */

import { hostname } from 'node:os'
import { z } from 'zod'
import { isPasswordHash, PASSWORD_HASH_FORMAT } from '../broker/password.js'
import { MAX_DEVICE_ID_CHARS } from '../gateway/device-id.js'
import { deviceTemplateProblem } from '../gateway/device-template.js'
import { timeZoneProblem } from '../gateway/local-time.js'
import { PRESET_NAMES, presetsNamed } from '../gateway/presets/index.js'
import { topicPatternProblem } from '../gateway/topic-pattern.js'
import { MEMORY_LIMITS, TOO_MANY_DEVICES } from './memory-limits.js'
import { closest } from './problems.js'
import { deriveList, metricName, unitChoice } from './profiles.js'

const int = (min: number, max: number) => {
  const error = `expected an integer ${min}..${max}`
  return z.number().int({ error }).min(min, { error }).max(max, { error })
}
const nonNegative = z.number().min(0, { error: 'expected a number ≥ 0' })
const positive = z.number().gt(0, { error: 'expected a number > 0' })
const text = z.string().min(1, { error: 'expected a non-empty string' })
const port = int(1, 65535)
const metric = metricName
const severity = z.enum(['warning', 'critical'])

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/
const id = z.string().regex(ID, {
  error: 'expected letters, digits, ".", "_", ":" or "-", starting with a letter or digit',
})

/** An MQTT filter (+, # allowed) that may hold `{username}`. */
const topicFilter = text.refine(
  (f) =>
    f
      .split('/')
      .every((seg, i, all) =>
        seg.includes('#') ? seg === '#' && i === all.length - 1 : !seg.includes('+') || seg === '+',
      ),
  { error: 'expected an MQTT topic filter ("+" as a whole level, "#" only as the last level)' },
)

/** An output topic with `{device}`, `{metric}` or `{gateway}` placeholders, no wildcards. */
const topicTemplate = text.refine((t) => !t.includes('+') && !t.includes('#'), {
  error: 'expected a topic without the wildcards "+" or "#"',
})

function defaultGatewayId(): string {
  const h = hostname()
    .replace(/[^A-Za-z0-9._:-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
  return h === '' ? 'floxgate' : h
}

const tls = z.strictObject({
  port: port.default(8883),
  host: text.optional(),
  cert: text,
  key: text,
})

const websocket = z.strictObject({
  host: text.optional(),
  port: port.default(8080),
  path: text.default('/mqtt'),
})

const brokerUser = z.strictObject({
  username: z.string().regex(/^[^/+#]+$/, {
    error: 'expected a name without "/", "+" or "#" (it fills {username} in topics)',
  }),
  passwordHash: text.refine(isPasswordHash, {
    error: `expected ${PASSWORD_HASH_FORMAT}; plain text passwords are not accepted`,
  }),
  publish: z.array(topicFilter).default(['sensors/{username}/#']),
  subscribe: z.array(topicFilter).default([]),
})

const embeddedBroker = z.strictObject({
  host: text.default('127.0.0.1'),
  port: port.default(1883),
  tls: tls.optional(),
  websocket: websocket.optional(),
  /** Resolved by the loader: default true only on a loopback host. */
  allowAnonymous: z.boolean().optional(),
  users: z.array(brokerUser).default([]),
  /**
   * What anonymous (loopback) clients may publish: `sensors`, the sensor topics only, or
   * `any` topic except floxgate's own outputs (alerts, aggregates, status), so other
   * programs on the Pi can use the broker for their own topics.
   */
  anonymousPublish: z.enum(['sensors', 'any']).default('sensors'),
  maxPayloadBytes: int(16, 256 * 1024 * 1024).default(65536),
  /** Connections open at once; each may hold one unfinished packet (docs/security.md). */
  maxConnections: int(1, 10_000).default(1000),
  /** Of those, open at once from one address (an IPv6 /64): one host cannot take them all. */
  maxConnectionsPerAddress: int(1, 10_000).default(250),
  rateLimit: z
    .strictObject({
      messagesPerSecond: nonNegative.default(1000),
      burst: int(1, 1_000_000_000).default(2000),
    })
    .prefault({}),
})

const mqttUrl = text.refine((u) => /^mqtts?:\/\/[^/]+/.test(u), {
  error: 'expected an mqtt:// or mqtts:// URL with a host',
})

const externalBroker = z.strictObject({
  url: mqttUrl.optional(),
  username: text.optional(),
  password: z.string().optional(),
  clientId: text.optional(),
  caFile: text.optional(),
  certFile: text.optional(),
  keyFile: text.optional(),
})

/** Metric -> JSON field path, plus `timestamp` and `messageId`. */
const fields = z.record(z.string().min(1), text)

const sensorTopic = z
  .strictObject({
    preset: z.string().optional(),
    pattern: text.optional(),
    format: z.enum(['json', 'number']).default('json'),
    metric: metric.optional(),
    fields: fields.optional(),
    units: unitChoice.optional(),
    device: text.optional(),
    timezone: text.optional(),
    sensors: z.record(z.string().min(1), metric).optional(),
  })
  .superRefine((t, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message })
    const presets = t.preset === undefined ? undefined : presetsNamed(t.preset)
    if (t.preset !== undefined && presets === undefined) {
      const guess = closest(t.preset, PRESET_NAMES)
      issue(
        'preset',
        `unknown preset "${t.preset}"${guess === undefined ? '' : `, did you mean "${guess}"?`} (known: ${PRESET_NAMES.join(', ')})`,
      )
    }
    if (presets !== undefined && presets.length > 1 && t.pattern !== undefined)
      issue(
        'pattern',
        `must not be set for preset ${t.preset}, which has ${presets.length} patterns (${presets.map((p) => p.name).join(', ')}); set pattern: on one of those instead`,
      )
    if (t.preset === undefined && t.pattern === undefined)
      issue(
        'pattern',
        'must be set (a topic pattern such as sensors/{device}/telemetry) or name a preset',
      )
    if (t.preset !== undefined && t.fields !== undefined)
      issue(
        'fields',
        'must not be set with a preset (it reads its own fields); use a topic without preset: to name fields',
      )
    if (t.sensors !== undefined && t.preset !== 'esphome')
      issue('sensors', 'must only be set with preset: esphome (no other preset reads it)')
    if (t.device !== undefined) {
      const p = deviceTemplateProblem(t.device)
      if (p !== undefined) issue('device', p)
    }
    if (t.timezone !== undefined) {
      const p = timeZoneProblem(t.timezone)
      if (p !== undefined) issue('timezone', p)
    }
    const preset = presets?.[0]
    const pattern = t.pattern ?? preset?.pattern
    if (pattern === undefined || (presets !== undefined && presets.length > 1)) return
    const problem = topicPatternProblem(pattern, {
      deviceRequired: t.device === undefined && preset?.deviceFromPayload !== true,
    })
    if (problem !== undefined) issue('pattern', `must be a valid pattern: ${problem}`)
    if (preset !== undefined) return
    const hasMetric = pattern.split('/').includes('{metric}')
    if (t.format === 'number' && !hasMetric && t.metric === undefined)
      issue('metric', 'must be set for a number topic without a {metric} segment')
    if (t.format === 'json' && (hasMetric || t.metric !== undefined))
      issue('format', 'must be number for a topic with {metric} or metric:')
    if (t.format === 'number' && t.device !== undefined)
      issue('device', 'needs a JSON topic (a plain number carries no fields to name the device)')
  })

const calibration = z.record(metricName, z.number())

const ruleOverride = z.strictObject({
  enabled: z.boolean().optional(),
  high: z.number().optional(),
  low: z.number().optional(),
  ratePerMinute: positive.optional(),
  staleSeconds: positive.optional(),
  hysteresis: nonNegative.optional(),
  forSeconds: nonNegative.optional(),
  count: int(1, 1_000_000).optional(),
  severity: severity.optional(),
})

/** Device ids also allow "/" and spaces: Zigbee2MQTT friendly names such as `kitchen/aqara`. */
const deviceId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/ -]*$/, {
  error:
    'expected letters, digits, ".", "_", ":", "/", "-" or spaces, starting with a letter or digit',
})

const device = z.strictObject({
  id: deviceId.max(MAX_DEVICE_ID_CHARS, {
    error: `expected at most ${MAX_DEVICE_ID_CHARS} characters (longer device ids are refused as bad-device-id)`,
  }),
  profile: text.default('generic'),
  name: text.optional(),
  location: text.optional(),
  calibration: calibration.default({}),
  rules: z.record(z.string(), ruleOverride).default({}),
  derive: deriveList.optional(),
})

/** A metric the config adds: its unit label, and a range for the generic profile. */
const metricDeclaration = z
  .strictObject({
    unit: z.string().min(1).max(16),
    min: z.number().optional(),
    max: z.number().optional(),
    resolution: positive.optional(),
  })
  .refine((d) => d.min === undefined || d.max === undefined || d.min < d.max, {
    error: 'must have min below max',
  })

const KIND_KEYS = ['high', 'low', 'ratePerMinute', 'staleSeconds'] as const

const rule = z
  .strictObject({
    id,
    metric: metric.optional(),
    high: z.number().optional(),
    low: z.number().optional(),
    ratePerMinute: positive.optional(),
    staleSeconds: positive.optional(),
    hysteresis: nonNegative.default(0),
    forSeconds: nonNegative.default(0),
    count: int(1, 1_000_000).default(1),
    severity: severity.default('warning'),
    windowSeconds: positive.default(60),
    devices: z.array(text).optional(),
    profiles: z.array(text).optional(),
    /** Notification sinks (ids of `notify:`) for this rule; absent: every sink. */
    notify: z.array(id).optional(),
    /** Remind every so many minutes while the alert stays raised; absent: never. */
    repeatMinutes: positive.optional(),
  })
  .superRefine((r, ctx) => {
    const kind = exactlyOneOf(r, KIND_KEYS, ctx)
    if (kind !== undefined && kind !== 'staleSeconds' && r.metric === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['metric'],
        message: `must be set for a ${kind} rule (temperature, humidity, co2, or any metric)`,
      })
    }
  })

/**
 * Adds an issue unless exactly one of `keys` is set in `o` (a rule's kind, a sink's type);
 * `instead` tells the user what to do rather than set two. Returns the key set, if one.
 */
function exactlyOneOf<K extends string>(
  o: Partial<Record<K, unknown>>,
  keys: readonly K[],
  ctx: z.RefinementCtx,
  instead?: string,
): K | undefined {
  const set = keys.filter((k) => o[k] !== undefined)
  if (set.length === 1) return set[0]
  const names = `${keys.slice(0, -1).join(', ')} or ${keys[keys.length - 1]}`
  const has = `has ${set.join(', ')}${instead === undefined ? '' : `; ${instead}`}`
  ctx.addIssue({
    code: 'custom',
    path: [],
    message:
      set.length === 0 ? `must set one of ${names}` : `must set only one of ${names} (${has})`,
  })
  return undefined
}

const httpUrl = text.refine((u) => /^https?:\/\/[^/]+/.test(u), {
  error: 'expected an http:// or https:// URL with a host',
})

const notifyRetry = z
  .strictObject({
    initialSeconds: positive.default(5),
    maxSeconds: positive.default(300),
  })
  .prefault({})

/** A notification sink: exactly one of `webhook` or `ntfy`. */
const notifySink = z
  .strictObject({
    id,
    webhook: z
      .strictObject({
        url: httpUrl,
        headers: z.record(z.string(), z.string()).default({}),
      })
      .optional(),
    ntfy: z
      .strictObject({
        url: httpUrl.default('https://ntfy.sh'),
        topic: z.string().regex(/^[-_A-Za-z0-9]{1,64}$/, {
          error: 'expected 1-64 letters, digits, "-" or "_" (an ntfy topic name)',
        }),
        /** An ntfy access token, sent as a bearer token. */
        token: text.optional(),
      })
      .optional(),
    timeoutSeconds: positive.default(10),
    retry: notifyRetry,
  })
  .superRefine((s, ctx) => {
    exactlyOneOf(s, ['webhook', 'ntfy'], ctx, 'make two sinks')
  })

const DEFAULT_TOPICS = [
  { pattern: 'sensors/{device}/telemetry', format: 'json' },
  { pattern: 'sensors/{device}/{metric}', format: 'number' },
] as const

export const STREAMS = ['readings', 'aggregates', 'alerts', 'dead-letters'] as const

const uplink = z.strictObject({
  enabled: z.boolean().default(true),
  url: mqttUrl,
  topicPrefix: z.string().default('{gateway}'),
  username: text.optional(),
  password: z.string().optional(),
  caFile: text.optional(),
  clientId: text.optional(),
  streams: z.array(z.enum(STREAMS)).default(['aggregates', 'alerts']),
  maxBufferMB: positive.default(256),
  dropPolicy: z.enum(['drop-oldest', 'reject-new']).default('drop-oldest'),
  ttlHours: nonNegative.default(168),
  maxReplayPerSecond: nonNegative.default(2000),
  inflight: int(1, 65535).default(64),
})

/** `kind: mqtt` and `kind: thingsboard` speak MQTT; `kind: influxdb` HTTP. */
export const UPLINK_KINDS = ['mqtt', 'influxdb', 'thingsboard'] as const

/** One entry of `uplinks:`. The old `uplink:` section is the same with id `default`. */
const uplinkItem = uplink
  .extend({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
      error: 'expected 1 to 64 letters, digits, "_" or "-"',
    }),
    kind: z.enum(UPLINK_KINDS).default('mqtt'),
    url: text,
    streams: z.array(z.enum(STREAMS)).optional(),
    // influxdb
    database: text.optional(),
    retentionPolicy: text.optional(),
    org: text.optional(),
    bucket: text.optional(),
    token: z.string().optional(),
    measurement: z.enum(['per-metric', 'single']).default('per-metric'),
    measurementName: text.default('floxgate'),
    batchSize: int(1, 100_000).default(500),
    batchDelayMs: int(0, 600_000).default(1000),
    gzip: z.boolean().default(true),
    // thingsboard
    alertsAs: z.enum(['telemetry', 'attributes']).default('telemetry'),
  })
  .superRefine((u, ctx) => {
    const http = /^https?:\/\/[^/]+/.test(u.url)
    const mqtt = /^mqtts?:\/\/[^/]+/.test(u.url)
    if (u.kind === 'influxdb' ? !http : !mqtt) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          u.kind === 'influxdb'
            ? 'expected an http:// or https:// URL with a host (the InfluxDB server)'
            : 'expected an mqtt:// or mqtts:// URL with a host',
      })
    }
    if (u.kind === 'influxdb') {
      const v2 = u.bucket !== undefined || u.org !== undefined || u.token !== undefined
      if (v2 && (u.bucket === undefined || u.org === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [u.bucket === undefined ? 'bucket' : 'org'],
          message: 'must be set: InfluxDB 2.x needs org, bucket and token',
        })
      }
      if (!v2 && u.database === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['database'],
          message:
            'must be set: the InfluxDB 1.x database (or org, bucket and token for InfluxDB 2.x)',
        })
      }
    }
  })

export const configSchema = z.strictObject({
  gateway: z
    .strictObject({
      id: id.default(defaultGatewayId),
      dataDir: text.default('./data'),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  broker: z
    .strictObject({
      mode: z.enum(['embedded', 'external']).default('embedded'),
      embedded: embeddedBroker.prefault({}),
      external: externalBroker.prefault({}),
      statusTopic: topicTemplate.default('floxgate/{gateway}/status'),
    })
    .prefault({}),
  sensors: z
    .strictObject({
      topics: z
        .array(sensorTopic)
        .min(1)
        .prefault([...DEFAULT_TOPICS]),
    })
    .prefault({}),
  profilesDir: text.optional(),
  metrics: z.record(metricName, metricDeclaration).default({}),
  devices: z.array(device).max(MEMORY_LIMITS.devices, { error: TOO_MANY_DEVICES }).default([]),
  unknownDevices: z
    .strictObject({
      policy: z.enum(['accept', 'dead-letter']).default('accept'),
      profile: text.default('generic'),
      max: int(0, 10_000_000).default(10_000),
      // a day: longer than any stale rule is likely to be, short enough that one-shot
      // ids (a typo, a test, a hostile client) do not hold the places of new sensors
      forgetAfterSeconds: positive.default(86_400),
    })
    .prefault({}),
  timestamps: z
    .strictObject({
      maxFutureSeconds: nonNegative.default(300),
      maxPastSeconds: nonNegative.default(7 * 24 * 3600),
    })
    .prefault({}),
  rules: z.array(rule).default([]),
  notify: z.array(notifySink).default([]),
  homeassistant: z
    .strictObject({
      enabled: z.boolean().default(false),
      discoveryPrefix: topicTemplate.default('homeassistant'),
      /**
       * Unknown devices announced at most (configured ones always are): each costs
       * about 8 KB of retained messages in the embedded broker.
       */
      maxUnknownDevices: int(0, 100_000).default(1000),
    })
    .prefault({}),
  alerts: z
    .strictObject({
      topic: topicTemplate.default('floxgate/alerts/{device}/{metric}'),
      qos: z.union([z.literal(0), z.literal(1)], { error: 'expected 0 or 1' }).default(1),
      retain: z.boolean().default(true),
      staleCheckSeconds: positive.default(5),
    })
    .prefault({}),
  aggregates: z
    .strictObject({
      enabled: z.boolean().default(true),
      windowSeconds: positive.default(60),
      graceSeconds: nonNegative.default(2),
      topic: topicTemplate.default('floxgate/aggregates/{device}/{metric}'),
      qos: z.union([z.literal(0), z.literal(1)], { error: 'expected 0 or 1' }).default(0),
    })
    .prefault({}),
  store: z
    .strictObject({
      file: text.default('floxgate.db'),
      durability: z.enum(['normal', 'full']).default('full'),
      batch: z
        .strictObject({
          maxRows: int(1, 100_000).default(2000),
          maxDelayMs: int(0, 60_000).default(20),
          qos0DelayMs: int(0, 600_000).default(10_000),
          // Off by default: at 2,000 QoS 1 readings/s, committing whenever the input is idle
          // meant a commit (and fsync) every few messages: 3,017 bytes written per reading
          // instead of 663 (bench:gateway, docs/benchmarks.md). See batch-writer.ts.
          commitWhenIdle: z.boolean().default(false),
        })
        .prefault({}),
      retention: z
        .strictObject({
          maxAgeDays: positive.default(30),
          maxSizeMB: positive.default(1024),
        })
        .prefault({}),
    })
    .prefault({}),
  uplink: uplink.optional(),
  uplinks: z
    .array(uplinkItem)
    .superRefine((list, ctx) => {
      const seen = new Set<string>()
      list.forEach((u, i) => {
        if (seen.has(u.id))
          ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `"${u.id}" is used twice` })
        seen.add(u.id)
      })
    })
    .optional(),
  http: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: text.default('127.0.0.1'),
      port: int(0, 65535).default(9464),
      /** The status page at `/` and its JSON API (docs/ui.md). */
      ui: z.boolean().default(true),
      /** Required for the page when `host` is not loopback: bearer token or /login cookie. */
      token: z.string().min(16, { error: 'expected at least 16 characters' }).optional(),
    })
    .prefault({}),
  watchdog: z
    .strictObject({
      enabled: z.boolean().default(true),
      stallSeconds: positive.default(30),
    })
    .prefault({}),
})

export type ParsedConfig = z.output<typeof configSchema>
