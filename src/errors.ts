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
  // (engine codes go here)

  // --- config (src/config) -------------------------------------------------------------
  // (config codes go here)

  // --- store (src/store) ---------------------------------------------------------------
  // (store codes go here)

  // --- broker and MQTT intake (src/broker) ---------------------------------------------
  // (broker codes go here)

  // --- uplink (src/uplink) -------------------------------------------------------------
  // (uplink codes go here)
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
    (option: string, rule: string) => `uplink.${option} ${rule}: fix it in the uplink section of the config`,
  ),
  UPLINK_NO_OUTBOX: define(
    'FLX_ERR_UPLINK_NO_OUTBOX',
    (reason: string) =>
      `the uplink cannot read the outbox table (${reason}): open the database through the store first, which creates it`,
  ),
  UPLINK_NOT_RUNNING: define(
    'FLX_ERR_UPLINK_NOT_RUNNING',
    (state: string) => `the uplink forwarder is ${state}: start() it once, and do not reuse a stopped one`,
  ),

  // --- daemon, CLI and operations (src/daemon, src/cli, src/ops) -----------------------
  // operations: health and metrics endpoint (src/ops)
  OPS_HTTP_LISTEN: define(
    'FLX_ERR_OPS_HTTP_LISTEN',
    (address: string, reason: string) =>
      `the health/metrics endpoint cannot listen on ${address} (${reason}): choose another host or port for it in the config, or stop the process that holds the port`,
  ),
  // (daemon codes go here)
  UNUSED_PLACEHOLDER: define('FLX_ERR_UNUSED', () => 'placeholder, remove when a code exists'),
} as const
