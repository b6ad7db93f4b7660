/**
 * The longest latency a usage or request-log row records: 2^31 - 1 ms (about 24.8 days), what
 * `latency_ms` holds on Postgres (integer). Only a hold swept long after it was taken comes near it.
 */
export const MAX_RECORDED_LATENCY_MS = 2_147_483_647

/**
 * A latency as a row records it: whole milliseconds from 0 to MAX_RECORDED_LATENCY_MS. A longer one would
 * not be written on Postgres at all, and a sweep batch holding it would fail with every hold in it.
 */
export const recordedLatency = (ms: number): number => Math.min(MAX_RECORDED_LATENCY_MS, Math.max(0, Math.round(ms)))
