/**
 * Reading the parsed YAML before the schema has vouched for it (the cross-checks run on
 * the raw tree so they can name paths): a value that is not of the expected kind reads
 * as absent, and the schema reports it.
 */
export function record(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined
}

export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}
