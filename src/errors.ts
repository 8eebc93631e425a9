/**
 * Every error floxgate raises is declared here, once, with a stable code and a message
 * that tells the reader what to do next (fastify's `FST_ERR_*` model). Codes are never
 * reused for another meaning.
 *
 * Each area keeps its own section below; add new codes to your section only. The engine's
 * codes and the error class live in src/engine/errors.ts (the engine imports nothing
 * outside its folder) and are re-exported here, so callers import from this file only.
 */

import { define, ERR as ENGINE_ERR } from './engine/errors.js'
import { EXIT } from './exit-codes.js'

export {
  type ErrorFactory,
  FloxgateError,
  type FloxgateErrorOptions,
  isError,
} from './engine/errors.js'

export const ERR = {
  ...ENGINE_ERR,

  // --- config (src/config) -------------------------------------------------------------
  CONFIG_INVALID: define(
    'FLX_ERR_CONFIG_INVALID',
    (file: string, lines: string, count: number) =>
      `config ${file} has ${count} problem${count === 1 ? '' : 's'}; fix ${count === 1 ? 'it' : 'them'} (docs/config.md describes every key) and run floxgate check-config again:\n${lines}`,
    { exitCode: EXIT.USAGE },
  ),

  // --- gateway domain logic (src/gateway): guards behind the config's own checks -------
  GATEWAY_BAD_TOPIC_PATTERN: define(
    'FLX_ERR_GATEWAY_BAD_TOPIC_PATTERN',
    (pattern: string, problem: string) =>
      `topic pattern "${pattern}": ${problem}; fix it in sensors.topics (docs/config.md)`,
  ),
  GATEWAY_UNKNOWN_PROFILE: define(
    'FLX_ERR_GATEWAY_UNKNOWN_PROFILE',
    (where: string, profile: string) =>
      `${where}: unknown profile "${profile}": use a profile from devices/ or the config's profiles section`,
  ),
  GATEWAY_BAD_OPTION: define(
    'FLX_ERR_GATEWAY_BAD_OPTION',
    (name: string, value: unknown, expected: string) =>
      `option ${name} = ${String(value)} is not valid: expected ${expected}`,
  ),

  // --- store (src/store) ---------------------------------------------------------------
  STORE_CORRUPT: define(
    'FLX_ERR_STORE_CORRUPT',
    (file: string, detail: string) =>
      `the database file ${file} is damaged or not a floxgate database (${detail}). Recovery: stop the service, move the file aside (mv ${file} ${file}.corrupt-$(date +%Y%m%dT%H%M%S), with its -wal and -shm files if present) and start again with a fresh database (docs/storage.md, Corruption)`,
    { exitCode: EXIT.DATABASE },
  ),
  STORE_NOT_FOUND: define(
    'FLX_ERR_STORE_NOT_FOUND',
    (file: string) =>
      `no database at ${file}: is this the config the service runs with, and has it started once? Under systemd the service keeps its data in $STATE_DIRECTORY (/var/lib/floxgate with the shipped unit), which replaces gateway.dataDir; set gateway.dataDir to that folder (scripts/install.sh does) or run this with STATE_DIRECTORY=/var/lib/floxgate`,
    { exitCode: EXIT.DATABASE },
  ),
  STORE_OPEN_FAILED: define(
    'FLX_ERR_STORE_OPEN_FAILED',
    (file: string, detail: string) =>
      `cannot open the database file ${file} (${detail}): check that its folder exists and is writable by the service user`,
    { exitCode: EXIT.DATABASE },
  ),
  STORE_NOT_A_FILE: define(
    'FLX_ERR_STORE_NOT_A_FILE',
    (file: string, what: string) =>
      `the database path ${file} is ${what}, not a database file: set store.file (or gateway.dataDir) so that it names a file, or move ${file} away; floxgate creates the file on its first start`,
    { exitCode: EXIT.DATABASE },
  ),
  STORE_NEWER_SCHEMA: define(
    'FLX_ERR_STORE_NEWER_SCHEMA',
    (file: string, found: number, supported: number) =>
      `the database file ${file} has schema version ${found}, newer than this floxgate supports (${supported}): run the newer floxgate, or move the file aside to start fresh`,
    { exitCode: EXIT.DATABASE },
  ),
  STORE_READ_ONLY: define(
    'FLX_ERR_STORE_READ_ONLY',
    (file: string, detail: string) =>
      `the database file ${file} opened read-only (${detail}): floxgate could not store a reading and would acknowledge none. Make the file, its -wal and -shm files and its folder writable by the service user (ls -l, lsattr; a read-only mount?) and start again`,
    { exitCode: EXIT.DATABASE },
  ),
  STORE_FILE_REPLACED: define(
    'FLX_ERR_STORE_FILE_REPLACED',
    (file: string, what: string) =>
      `the database file ${file} ${what} while floxgate was running: a commit now would go to the old file, which is gone after a restart, so floxgate acknowledges nothing more (sensors keep what is not acknowledged and send it again). Put the file back if it was moved by mistake, otherwise restart floxgate: it opens ${file} afresh`,
  ),
  STORE_FULL: define(
    'FLX_ERR_STORE_FULL',
    (file: string, detail: string) =>
      `cannot write to ${file}: the disk or the database is full (${detail}). Free space on the device or lower store.maxSizeBytes / retention; writes resume by themselves when space returns`,
  ),
  STORE_WRITE_FAILED: define(
    'FLX_ERR_STORE_WRITE_FAILED',
    (file: string, detail: string) =>
      `cannot write to ${file} (${detail}): the rows were not stored; check the disk and the service logs`,
  ),
  STORE_UNHEALTHY: define(
    'FLX_ERR_STORE_UNHEALTHY',
    (file: string, reason: string) =>
      `not stored: the database ${file} is refusing writes (${reason}); the sender should retry later`,
  ),
  STORE_CLOSED: define(
    'FLX_ERR_STORE_CLOSED',
    (file: string) =>
      `the store for ${file} is closed: this is a bug in the caller, which wrote after shutdown`,
  ),

  // --- broker and MQTT intake (src/broker) ---------------------------------------------
  BROKER_EMPTY_PASSWORD: define(
    'FLX_ERR_BROKER_EMPTY_PASSWORD',
    () =>
      'an empty password cannot be hashed: give the device a password of at least one character',
  ),
  BROKER_BAD_FILTER: define(
    'FLX_ERR_BROKER_BAD_FILTER',
    (where: string, filter: string) =>
      `${where}: "${filter}" is not a valid MQTT topic filter ('#' only as the last level, '+' only as a whole level)`,
  ),
  BROKER_LISTEN: define(
    'FLX_ERR_BROKER_LISTEN',
    (kind: string, host: string, port: number, reason: string) =>
      `the embedded broker cannot listen for ${kind} on ${host}:${port} (${reason}): choose a free port or stop the process that holds it`,
  ),
  BROKER_TLS: define(
    'FLX_ERR_BROKER_TLS',
    (reason: string) =>
      `the embedded broker's TLS certificate or key is unusable (${reason}): check that both are PEM files and that the key matches the certificate`,
  ),
  BROKER_CLOSED: define(
    'FLX_ERR_BROKER_CLOSED',
    (topic: string) =>
      `cannot publish to ${topic}: the broker connection is closed (a publish after shutdown is a bug in the caller)`,
  ),
  // Handed to aedes' hooks to refuse a client's CONNECT, PUBLISH or SUBSCRIBE; the
  // refusal itself is logged (rate-limited) and counted with its reason (refusal.ts).
  BROKER_REFUSED: define(
    'FLX_ERR_BROKER_REFUSED',
    (detail: string) => `refused by the embedded broker: ${detail} (docs/security.md)`,
  ),
  BROKER_PUBLISH: define(
    'FLX_ERR_BROKER_PUBLISH',
    (topic: string, reason: string) =>
      `publishing to ${topic} failed (${reason}); it will not be retried by the broker module`,
  ),
  // MQTT.js connections, both the external broker (broker.external.*) and the uplink
  // (uplink.*): `setting` names the config key, so one code serves both.
  MQTT_BAD_URL: define(
    'FLX_ERR_MQTT_BAD_URL',
    (setting: string, url: string) =>
      `${setting} "${url}" is not an MQTT broker address: use mqtt://host:port or mqtts://host:port`,
    { exitCode: EXIT.USAGE },
  ),
  MQTT_CA_UNREADABLE: define(
    'FLX_ERR_MQTT_CA_UNREADABLE',
    (setting: string, file: string, reason: string) =>
      `${setting} "${file}" cannot be read (${reason}): check the path and that the floxgate user may read it`,
  ),
  MQTT_CLIENT_INTERNALS: define(
    'FLX_ERR_MQTT_CLIENT_INTERNALS',
    (what: string) =>
      `the installed mqtt package lacks ${what}, which delayed acknowledgements rely on: install the mqtt 5.x version from package.json`,
  ),
  INTAKE_NOT_STORED: define(
    'FLX_ERR_INTAKE_NOT_STORED',
    (topic: string, reason: string) =>
      `a message on ${topic} was not stored (${reason}): it was not acknowledged, so the sender will deliver it again`,
  ),

  // --- uplink (src/uplink) -------------------------------------------------------------
  UPLINK_BAD_OPTION: define(
    'FLX_ERR_UPLINK_BAD_OPTION',
    (option: string, rule: string) =>
      `uplink.${option} ${rule}: fix it in the uplink section of the config`,
  ),
  UPLINK_NO_PUBACK: define(
    'FLX_ERR_UPLINK_NO_PUBACK',
    (seconds: number) =>
      `no PUBACK from the upstream for ${seconds} s: reconnecting and resending from the outbox (check the upstream broker's load and the link)`,
  ),
  UPLINK_NO_ANSWER: define(
    'FLX_ERR_UPLINK_NO_ANSWER',
    (seconds: number) =>
      `no HTTP answer from the upstream for ${seconds} s: reconnecting and resending from the outbox (check the upstream server's load and the link)`,
  ),
  UPLINK_UPSTREAM_FAILED: define(
    'FLX_ERR_UPLINK_UPSTREAM_FAILED',
    (upstream: string, what: string) =>
      `${upstream} ${what}: the rows stay in the outbox and are sent again after a backoff (check the server, its log, and the uplink's url and credentials)`,
  ),
  UPLINK_UPSTREAM_REJECTED: define(
    'FLX_ERR_UPLINK_UPSTREAM_REJECTED',
    (reason: string) =>
      `${reason}: the upstream refused these rows for good, so they were kept as dead letters (reason upstream-rejected) and not sent again; fix the data or the target's schema`,
  ),
  UPLINK_NO_OUTBOX: define(
    'FLX_ERR_UPLINK_NO_OUTBOX',
    (reason: string) =>
      `the uplink cannot read the outbox table (${reason}): open the database through the store first, which creates it`,
  ),
  UPLINK_NOT_RUNNING: define(
    'FLX_ERR_UPLINK_NOT_RUNNING',
    (state: string) =>
      `the uplink forwarder is ${state}: start() it once, and do not reuse a stopped one`,
  ),

  // --- daemon, CLI and operations (src/daemon, src/cli, src/ops) -----------------------
  // operations: health and metrics endpoint (src/ops)
  OPS_HTTP_LISTEN: define(
    'FLX_ERR_OPS_HTTP_LISTEN',
    (address: string, reason: string) =>
      `the health/metrics endpoint cannot listen on ${address} (${reason}): choose another host or port for it in the config, or stop the process that holds the port`,
  ),
  // packaging: single executable (src/ops/sea.ts)
  SEA_ASSET_MISSING: define(
    'FLX_ERR_SEA_ASSET_MISSING',
    (key: string) =>
      `the executable carries no asset "${key}": rebuild it with \`npm run package\``,
  ),
  SEA_EXTRACT_FAILED: define(
    'FLX_ERR_SEA_EXTRACT_FAILED',
    (what: string, tried: string) =>
      `cannot extract ${what} from the executable into any of ${tried}: set CACHE_DIRECTORY (systemd: CacheDirectory=floxgate) or XDG_CACHE_HOME to a writable folder that allows executables`,
  ),
} as const

/**
 * A warning: something that works but that a person should change (logged at start and
 * on reload, printed by check-config). Declared here like the errors, so a code is
 * defined once and its message says what to do.
 */
export interface Warning {
  readonly code: string
  readonly message: string
}

function warning<Args extends unknown[]>(
  code: string,
  message: (...args: Args) => string,
): ((...args: Args) => Warning) & { readonly code: string } {
  return Object.assign((...args: Args) => ({ code, message: message(...args) }), { code })
}

export const WARN = {
  // --- config (src/config) -------------------------------------------------------------
  ANONYMOUS_EXPOSED: warning(
    'FLX_WARN_ANONYMOUS_EXPOSED',
    (hosts: readonly string[]) =>
      `broker.embedded.allowAnonymous is true while the broker listens on ${hosts.join(', ')}: any client on the network can publish readings; give devices users and set allowAnonymous: false`,
  ),
} as const
