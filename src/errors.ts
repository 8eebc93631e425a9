/**
 * Every error floxgate raises is declared here, once, with a stable code and a message
 * that tells the reader what to do next (fastify's `FST_ERR_*` model). Codes are never
 * reused for another meaning.
 *
 * Each area keeps its own section below; add new codes to your section only.
 */

export class FloxgateError extends Error {
  readonly code: string
  readonly details: Readonly<Record<string, unknown>> | undefined

  constructor(code: string, message: string, details?: Record<string, unknown>, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'FloxgateError'
    this.code = code
    this.details = details
  }
}

/** A factory for one error code; `.code` lets callers compare without building one. */
export type ErrorFactory<Args extends unknown[]> = ((...args: Args) => FloxgateError) & {
  readonly code: string
}

function define<Args extends unknown[]>(
  code: string,
  message: (...args: Args) => string,
): ErrorFactory<Args> {
  const make = (...args: Args) => new FloxgateError(code, message(...args))
  return Object.assign(make, { code })
}

/** True when `err` is a FloxgateError of the given factory's code. */
export function isError(err: unknown, factory: { readonly code: string }): err is FloxgateError {
  return err instanceof FloxgateError && err.code === factory.code
}

export const ERR = {
  // --- engine (src/engine) -------------------------------------------------------------
  ENGINE_NODE_NOT_FOUND: define(
    'FLX_ERR_ENGINE_NODE_NOT_FOUND',
    (nodeId: string, where: string) =>
      `node '${nodeId}' not found (${where}): add it to the workflow before routing to it`,
  ),
  ENGINE_DUPLICATE_NODE: define(
    'FLX_ERR_ENGINE_DUPLICATE_NODE',
    (nodeId: string) =>
      `a node with id '${nodeId}' is already in the workflow: give each node a unique id`,
  ),
  ENGINE_ACTION_NOT_HANDLED: define(
    'FLX_ERR_ENGINE_ACTION_NOT_HANDLED',
    (nodeId: string, action: string) =>
      `node '${nodeId}' returned action '${action}' but has no route for it, no 'default' route and no default route: add a route`,
  ),
  ENGINE_CYCLE_DETECTED: define('FLX_ERR_ENGINE_CYCLE_DETECTED', (nodeId: string, limit: number) =>
    limit <= 1
      ? `cycle detected: node '${nodeId}' was reached twice in one run; allow cycles with a visit limit (maxVisits) if the loop is intended`
      : `cycle limit exceeded: node '${nodeId}' was reached more than ${limit} times in one run; raise maxVisits or fix the loop`,
  ),
  ENGINE_TIMEOUT: define(
    'FLX_ERR_ENGINE_TIMEOUT',
    (what: string, ms: number, nodeId: string | undefined) =>
      `${what} timed out after ${ms} ms${nodeId === undefined ? '' : ` while node '${nodeId}' was running`}: raise timeoutMs or find the slow node`,
  ),
  ENGINE_ABORTED: define(
    'FLX_ERR_ENGINE_ABORTED',
    (what: string) => `${what} was aborted by its signal`,
  ),
  ENGINE_RETRY_EXHAUSTED: define(
    'FLX_ERR_ENGINE_RETRY_EXHAUSTED',
    (nodeId: string, attempts: number, last: string) =>
      `node '${nodeId}' failed ${attempts} times, giving up (last error: ${last}); see the cause, or raise maxAttempts`,
  ),
  ENGINE_INVALID_GRAPH: define(
    'FLX_ERR_ENGINE_INVALID_GRAPH',
    (workflow: string, problems: readonly string[]) =>
      `workflow '${workflow}' is not valid: ${problems.join('; ')}`,
  ),
  ENGINE_ALREADY_RUNNING: define(
    'FLX_ERR_ENGINE_ALREADY_RUNNING',
    (workflow: string) =>
      `workflow '${workflow}' is already executing: wait for its run to end, or build a second workflow`,
  ),
  ENGINE_CHANNEL_CLOSED: define(
    'FLX_ERR_ENGINE_CHANNEL_CLOSED',
    (channelId: string) =>
      `channel '${channelId}' is closed: no more events can be sent to it (close it only when producers are done)`,
  ),
  ENGINE_BAD_OPTION: define(
    'FLX_ERR_ENGINE_BAD_OPTION',
    (name: string, value: unknown, expected: string) =>
      `option ${name} = ${String(value)} is not valid: expected ${expected}`,
  ),
  ENGINE_PATH_TOO_LONG: define(
    'FLX_ERR_ENGINE_PATH_TOO_LONG',
    (nodeId: string, maxHops: number) =>
      `an event passed through ${maxHops} nodes and was stopped at node '${nodeId}': the routes loop; fix the routes or raise maxHops`,
  ),
  ENGINE_BAD_RESULT: define(
    'FLX_ERR_ENGINE_BAD_RESULT',
    (nodeId: string, value: unknown) =>
      `node '${nodeId}' returned ${String(value)} from processEvent: return an action or { action, event }`,
  ),
  ENGINE_EVENT_AFTER_END: define(
    'FLX_ERR_ENGINE_EVENT_AFTER_END',
    (sourceId: string) =>
      `source '${sourceId}' delivered an event after the run ended; it was not processed (the source ignored the abort signal passed to waitForEvent)`,
  ),

  // --- config (src/config) -------------------------------------------------------------
  CONFIG_INVALID: define(
    'FLX_ERR_CONFIG_INVALID',
    (file: string, lines: string, count: number) =>
      `config ${file} has ${count} problem${count === 1 ? '' : 's'}; fix ${count === 1 ? 'it' : 'them'} (docs/config.md describes every key) and run floxgate check-config again:\n${lines}`,
  ),

  // --- store (src/store) ---------------------------------------------------------------
  STORE_CORRUPT: define(
    'FLX_ERR_STORE_CORRUPT',
    (file: string, detail: string) =>
      `the database file ${file} is damaged or not a floxgate database (${detail}). Recovery: stop the service, move the file aside (mv ${file} ${file}.corrupt-$(date +%Y%m%dT%H%M%S), with its -wal and -shm files if present) and start again with a fresh database; set store.onCorrupt: move-aside to do this automatically`,
  ),
  STORE_OPEN_FAILED: define(
    'FLX_ERR_STORE_OPEN_FAILED',
    (file: string, detail: string) =>
      `cannot open the database file ${file} (${detail}): check that its folder exists and is writable by the service user`,
  ),
  STORE_NEWER_SCHEMA: define(
    'FLX_ERR_STORE_NEWER_SCHEMA',
    (file: string, found: number, supported: number) =>
      `the database file ${file} has schema version ${found}, newer than this floxgate supports (${supported}): run the newer floxgate, or move the file aside to start fresh`,
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
  BROKER_PUBLISH: define(
    'FLX_ERR_BROKER_PUBLISH',
    (topic: string, reason: string) =>
      `publishing to ${topic} failed (${reason}); it will not be retried by the broker module`,
  ),
  MQTT_BAD_URL: define(
    'FLX_ERR_MQTT_BAD_URL',
    (url: string) =>
      `broker url "${url}" is not an MQTT broker address: use mqtt://host:port or mqtts://host:port`,
  ),
  MQTT_CA_UNREADABLE: define(
    'FLX_ERR_MQTT_CA_UNREADABLE',
    (file: string, reason: string) =>
      `broker caFile "${file}" cannot be read (${reason}): check the path and that the floxgate user may read it`,
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
  UPLINK_BAD_URL: define(
    'FLX_ERR_UPLINK_BAD_URL',
    (url: string) =>
      `uplink.url "${url}" is not an MQTT broker address: use mqtt://host:port or mqtts://host:port`,
  ),
  UPLINK_CA_UNREADABLE: define(
    'FLX_ERR_UPLINK_CA_UNREADABLE',
    (file: string, reason: string) =>
      `uplink.caFile "${file}" cannot be read (${reason}): check the path and that the floxgate user may read it`,
  ),
  UPLINK_BAD_OPTION: define(
    'FLX_ERR_UPLINK_BAD_OPTION',
    (option: string, rule: string) =>
      `uplink.${option} ${rule}: fix it in the uplink section of the config`,
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
